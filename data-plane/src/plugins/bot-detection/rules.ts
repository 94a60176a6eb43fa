/**
 * User-Agent patterns of crawlers, scrapers and scripted HTTP clients, after the bot families of ua-parser's
 * uap-core list that Kong's bot-detection builds on. Plain browsers and curl are not in it.
 */
export const BOT_PATTERNS: readonly string[] = [
  // Search engine and social crawlers by name.
  '(?:[A-Za-z]+-)?[Gg]ooglebot|AdsBot-Google|Mediapartners-Google|APIs-Google|Google-InspectionTool',
  '[Bb]ingbot|BingPreview|msnbot|[Bb]ai[Dd]u[Ss]pider|YandexBot|Yandex[A-Za-z]+|DuckDuckBot|Sogou|Exabot',
  'Yahoo! Slurp|YahooSeeker|facebookexternalhit|facebookcatalog|Twitterbot|LinkedInBot|Pinterestbot|Slackbot',
  'Applebot|AhrefsBot|SemrushBot|MJ12bot|DotBot|PetalBot|SeznamBot|ia_archiver|archive\\.org_bot|CCBot|GPTBot',
  'Pingdom\\.com_bot|UptimeRobot|HeadlessChrome|PhantomJS|Scrapy|heritrix|Nutch|masscan|WhatWeb|zgrab',
  // Generic: a token ending in bot, spider, crawler, scraper, archiver or indexer ("CUBOT" phones excepted).
  '(?:^|[\\s/;(,])(?!CUBOT)[A-Za-z0-9_-]*(?:[Bb]ot|[Ss]pider|[Cc]rawler|[Ss]craper|[Aa]rchiver|[Ii]ndexer)\\b',
  // Scripted HTTP clients Kong counts as bots.
  'Apache-HttpClient|Python-urllib|python-requests|Go-http-client|Java/\\d|libwww-perl|okhttp|WinHTTP|HttpMonitor',
]
