"""Scrapy crawling the fixtures web, for bench/run.

    python -m scrapy runspider fixture_spider.py -a seeds=seeds.txt \
        -s CONCURRENT_REQUESTS=64 [-s DOWNLOAD_DELAY=0.5 -s CONCURRENT_REQUESTS_PER_DOMAIN=1]

A CrawlSpider that follows every link (no assets: only <a>/<area> hrefs, as
LinkExtractor does by default) on the seeds' hosts, obeys robots.txt, and keeps
nothing but a count. Names resolve through the system (/etc/hosts), which
bench/run maps to 127.0.0.1 in a private mount namespace.
"""

from urllib.parse import urlsplit

from scrapy import Request
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class FixtureSpider(CrawlSpider):
    name = "fixtures"
    custom_settings = {
        "ROBOTSTXT_OBEY": True,
        "DEPTH_LIMIT": 0,
        "COOKIES_ENABLED": False,
        "RETRY_ENABLED": True,
        "REDIRECT_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "USER_AGENT": "scrapy-peer",
        # Even spacing when DOWNLOAD_DELAY is set (the default varies it by +-50%):
        # the closest Scrapy has to a per-host rate.
        "DOWNLOAD_DELAY_JITTER": 0,
    }

    def __init__(self, seeds=None, *args, **kwargs):
        with open(seeds, encoding="utf-8") as f:
            self.start_urls = [line.strip() for line in f if line.strip()]
        # The seeds' hosts, as our crawler's `--scope host` and wget2 without -H.
        # Enforced by the OffsiteMiddleware, which compares host names; the link
        # extractor's allow_domains would compare host:port and refuse every link.
        self.allowed_domains = sorted({urlsplit(u).hostname for u in self.start_urls})
        self.rules = (
            Rule(
                LinkExtractor(),
                callback="parse_page",
                follow=True,
            ),
        )
        super().__init__(*args, **kwargs)
        self.pages = 0

    async def start(self):
        # Through the duplicate filter (Scrapy's default bypasses it), so a root page
        # linked from another page is not fetched a second time.
        for url in self.start_urls:
            yield Request(url, callback=self._parse, dont_filter=False)

    def parse_start_url(self, response):
        return self.parse_page(response)

    def parse_page(self, response):
        self.pages += 1
        return []

    def closed(self, reason):
        print(f"pages: {self.pages}", flush=True)
