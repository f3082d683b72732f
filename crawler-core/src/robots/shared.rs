//! The rules of a host's robots.txt as text a crawl shares: a cluster node that takes a
//! host over from another applies the rules the other fetched instead of fetching
//! robots.txt again.
//!
//! One record a line, tab-separated: `group NAME`, `delay SECS`, then each rule in
//! order as `A` or `D`, its line, its pattern as compiled, and its pattern as written
//! (last, since it may hold a tab). Sitemaps are not carried: they were queued when the
//! rules were first fetched.

use super::parse::Rule;
use super::pattern::Pattern;
use super::RobotsRules;

impl RobotsRules {
    /// The rules as shared text (see the module's docs).
    pub fn to_shared(&self) -> String {
        let mut text = String::new();
        if let Some(group) = &self.group {
            text.push_str(&format!("group\t{group}\n"));
        }
        if let Some(delay) = self.crawl_delay {
            text.push_str(&format!("delay\t{delay}\n"));
        }
        for rule in &self.rules {
            let kind = if rule.allow { 'A' } else { 'D' };
            let written = rule.written.replace(['\n', '\r'], " ");
            text.push_str(&format!(
                "{kind}\t{}\t{}\t{written}\n",
                rule.line, rule.pattern
            ));
        }
        text
    }

    /// The rules [`RobotsRules::to_shared`] wrote; `None` for text it did not write.
    pub fn from_shared(text: &str) -> Option<RobotsRules> {
        let mut rules = RobotsRules::default();
        for line in text.lines() {
            let mut fields = line.splitn(4, '\t');
            match (fields.next()?, fields.next()) {
                ("group", Some(name)) => rules.group = Some(name.to_owned()),
                ("delay", Some(secs)) => rules.crawl_delay = Some(secs.parse().ok()?),
                (kind @ ("A" | "D"), Some(line)) => {
                    let pattern = fields.next()?;
                    rules.rules.push(Rule {
                        allow: kind == "A",
                        pattern: Pattern::new(pattern.as_bytes()),
                        written: fields.next()?.to_owned(),
                        line: line.parse().ok()?,
                    });
                }
                _ => return None,
            }
        }
        Some(rules)
    }
}

#[cfg(test)]
mod tests {
    use crate::robots::{ProductToken, RobotsRules, RobotsTxt};
    use crate::url::CanonicalUrl;

    fn rules(file: &str) -> RobotsRules {
        RobotsTxt::parse(file.as_bytes()).rules_for(&ProductToken::parse("crawler").unwrap())
    }

    #[test]
    fn rules_come_back_the_same_from_their_shared_text() {
        let files = [
            "User-agent: *\nDisallow: /private\nAllow: /private/open\nCrawl-delay: 0.25\n",
            "User-agent: crawler\nDisallow: /*.pdf$\nDisallow: /a%3cb\tc\nAllow: /%7Euser/ü?x=1\n",
            "User-agent: other\nDisallow: /\n",
            "",
        ];
        for file in files {
            let original = rules(file);
            let shared = original.to_shared();
            let back = RobotsRules::from_shared(&shared).expect("its own text reads back");
            assert_eq!(back, original, "{file:?} shared as {shared:?}");
        }
    }

    #[test]
    fn shared_rules_judge_urls_as_the_fetched_ones_do() {
        let original = rules("User-agent: *\nDisallow: /private\nAllow: /private/open$\n");
        let back = RobotsRules::from_shared(&original.to_shared()).unwrap();
        for path in [
            "/private/x",
            "/private/open",
            "/private/open/more",
            "/public",
        ] {
            let url = CanonicalUrl::parse(&format!("http://a.test{path}")).unwrap();
            assert_eq!(back.allows(&url), original.allows(&url), "{path}");
            assert_eq!(
                back.verdict(&url).rule.map(|r| r.to_string()),
                original.verdict(&url).rule.map(|r| r.to_string())
            );
        }
    }

    #[test]
    fn text_it_did_not_write_is_refused() {
        for text in ["nonsense\n", "A\tx\t/a\t/a\n", "delay\tslow\n", "D\t3\n"] {
            assert_eq!(RobotsRules::from_shared(text), None, "{text:?}");
        }
    }
}
