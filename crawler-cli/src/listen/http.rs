//! Just enough HTTP/1.1 for the endpoint: one request head per connection (parsed by
//! `httparse`), one answer, then the connection closes.

use std::io::{self, Read, Write};

/// A request head is refused past this size.
const MAX_HEAD: usize = 8 * 1024;
/// Headers read at most.
const MAX_HEADERS: usize = 32;

pub struct Request {
    pub method: String,
    pub path: String,
}

/// Reads a request head; `None` when it is malformed, too large or cut short.
pub fn read_request(stream: &mut impl Read) -> io::Result<Option<Request>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0; 1024];
    loop {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                return Ok(Some(Request {
                    method: request.method.unwrap_or_default().to_owned(),
                    path: request.path.unwrap_or_default().to_owned(),
                }));
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => {}
            _ => return Ok(None),
        }
    }
}

pub struct Response {
    status: u16,
    content_type: &'static str,
    allow: Option<&'static str>,
    body: Vec<u8>,
}

impl Response {
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            allow: None,
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: "application/json",
            allow: None,
            body,
        }
    }

    pub fn metrics(body: String) -> Response {
        Response {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            allow: None,
            body: body.into_bytes(),
        }
    }

    pub fn not_allowed(allow: &'static str) -> Response {
        Response {
            allow: Some(allow),
            ..Response::text(405, &format!("only {allow} here\n"))
        }
    }

    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            _ => "Internal Server Error",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n",
            self.status,
            self.content_type,
            self.body.len()
        );
        if let Some(allow) = self.allow {
            head.push_str(&format!("Allow: {allow}\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_in_pieces_is_read_and_a_huge_one_refused() {
        let raw = b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
        let request = read_request(&mut &raw[..]).unwrap().unwrap();
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/metrics?x=1")
        );
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD * 2));
        assert!(read_request(&mut &huge[..]).unwrap().is_none());
        assert!(read_request(&mut &b"GET / HT"[..]).unwrap().is_none());
    }
}
