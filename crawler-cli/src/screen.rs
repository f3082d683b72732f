//! Where a reading command's output goes, and what it is shown on: this process's
//! stdout, or (through a running crawl's query socket) the stdout of the process that
//! asked.

use std::io::{self, IsTerminal, Write};

use serde::{Deserialize, Serialize};

/// Where a reading command's output is shown: what `ls` picks its format and its
/// table's width and colours by. A query a running crawl answers carries the
/// asking process's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    /// The output is a terminal.
    pub terminal: bool,
    /// The terminal's width, when known.
    pub width: Option<usize>,
    /// Colours may be used: a terminal, and `NO_COLOR` not set (to anything but
    /// nothing, as no-color.org has it).
    pub colour: bool,
}

impl Screen {
    /// This process's stdout.
    pub fn of_stdout() -> Screen {
        let stdout = io::stdout();
        if !stdout.is_terminal() {
            return Screen {
                terminal: false,
                width: None,
                colour: false,
            };
        }
        let width = terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0));
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Screen {
            terminal: true,
            width,
            colour: !no_color,
        }
    }
}

/// Where a reading command writes: this process's stdout, or (through the crawl's
/// query socket) the stdout of the process that asked.
pub struct Output<'a> {
    pub out: &'a mut dyn Write,
    pub screen: Screen,
}
