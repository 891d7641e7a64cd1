"""CloudWatch Logs through boto3: FilterLogEvents' filter patterns (terms, regular expressions,
JSON and space-delimited patterns) on events put with PutLogEvents, the patterns it refuses, and
nextToken paging of FilterLogEvents and DescribeLogStreams (tokens it did not issue are refused)."""
import json
import time
import unittest


import harness
from harness import Daemon, client_error

GROUP = "/app/filters"

TEXT = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[INFO] REQUEST FAILED",
    "[WARN] retrying in 5s",
    "Exiting with ERRORCODE: -1",
]

JSON = [
    json.dumps({"eventType": "UpdateTrail", "latency": 120, "user": {"id": 1}, "tags": ["a", "b"], "flag": True}),
    json.dumps({"eventType": "DeleteTrail", "latency": 40, "user": {"id": 2}, "tags": ["c"], "flag": False,
                "gone": None, "cluster.name": "blue"}),
    json.dumps({"eventType": "UpdateTrail", "latency": 700, "user": {"id": 3}}),
]

ACCESS = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    '10.0.0.2 - bob [10/Oct/2000:13:26:15 -0700] "GET /about.html HTTP/1.0" 200 512',
    '10.0.0.3 - eve [10/Oct/2000:13:27:15 -0700] "POST /form HTTP/1.0" 500 2048',
]


class LogsFilterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.logs = cls.d.client("logs")
        cls.logs.create_log_group(logGroupName=GROUP)
        now = int(time.time() * 1000) - 60_000
        # Distinct timestamps across streams, so that FilterLogEvents' order is the order here.
        for offset, (stream, lines) in enumerate([("text", TEXT), ("json", JSON), ("access", ACCESS)]):
            cls.logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
            cls.logs.put_log_events(logGroupName=GROUP, logStreamName=stream,
                                    logEvents=[{"timestamp": now + offset * 100 + i, "message": m}
                                               for i, m in enumerate(lines)])

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def filtered(self, pattern, streams=None, **kw):
        """Every message FilterLogEvents returns for the pattern, following nextToken."""
        args = dict(logGroupName=GROUP, filterPattern=pattern, **kw)
        if streams:
            args["logStreamNames"] = streams
        out = []
        while True:
            page = self.logs.filter_log_events(**args)
            out += [e["message"] for e in page["events"]]
            if "nextToken" not in page:
                return out
            args["nextToken"] = page["nextToken"]

    def assert_filters(self, cases, streams=None):
        for pattern, expected in cases:
            with self.subTest(pattern=pattern):
                self.assertEqual(self.filtered(pattern, streams), expected)

    def test_terms(self):
        self.assert_filters([
            ("", TEXT + JSON + ACCESS),
            ('" "', TEXT + JSON + ACCESS),
            ("ERROR", [TEXT[0], TEXT[1], TEXT[4]]),
            ("ERROR -ARGUMENTS", [TEXT[0], TEXT[4]]),
            ("?WARN ?FAILED", [TEXT[2], TEXT[3]]),
            ("?WARN ?FAILED REQUEST", [TEXT[0], TEXT[2]]),  # ?terms next to others are ignored
            ('"BAD REQUEST"', [TEXT[0]]),
            ('"GET /index.html"', [ACCESS[0]]),
            ("error", []),
        ])

    def test_regular_expressions(self):
        self.assert_filters([
            (r"%^\[[A-Z]+ 4[0-9]{2}\]%", [TEXT[0], TEXT[1]]),
            ("%Delete|POST%", [JSON[1], ACCESS[2]]),
            (r"%retrying in \d+s$%", [TEXT[3]]),
            (r"%^10\.0\.0\.[2-3] %", [ACCESS[1], ACCESS[2]]),
        ])

    def test_json_patterns(self):
        self.assert_filters([
            ('{ $.eventType = "UpdateTrail" }', [JSON[0], JSON[2]]),
            ("{ $.eventType = Update* }", [JSON[0], JSON[2]]),
            ("{ $.eventType = %^Delete% }", [JSON[1]]),
            ("{ $.latency > 100 && $.user.id != 3 }", [JSON[0]]),
            ("{ ($.latency < 50 || $.latency >= 700) && $.eventType != DeleteTrail }", [JSON[2]]),
            ("{ $.tags[*] = c || $.flag IS TRUE }", [JSON[0], JSON[1]]),
            ("{ $.tags[1] = b }", [JSON[0]]),
            ("{ $.flag IS FALSE }", [JSON[1]]),
            ("{ $.gone IS NULL }", [JSON[1]]),
            ("{ $.['cluster.name'] = blue }", [JSON[1]]),
            ("{ $.user.* = 2 }", [JSON[1]]),
            ("{ $.user = 1 }", []),  # an object is not a value
        ])
        # Over the whole group: messages that are not JSON never match a JSON pattern.
        self.assertEqual(self.filtered("{ $.tags NOT EXISTS }"), [JSON[2]])

    def test_space_delimited_patterns(self):
        self.assert_filters([
            ("[ip, user, username, timestamp, request, status_code, bytes]", ACCESS),
            ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", [ACCESS[0]]),
            ("[..., status_code >= 400, bytes > 1000]", [ACCESS[0], ACCESS[2]]),
            ("[ip = %^10\\.%, ...]", [ACCESS[1], ACCESS[2]]),
            ("[ip, ..., status_code = 200 || status_code = 500, bytes]", [ACCESS[1], ACCESS[2]]),
            ('[ip, user, username = bob, timestamp = "10/Oct/2000:13:26:15 -0700", ...]', [ACCESS[1]]),
            ('[ip, user, rest = "*HTTP/1.0*"]', ACCESS),  # the last field takes the rest of the line
        ], streams=["access"])
        self.assertEqual(self.filtered("[w1 = *ERROR*, w2]", streams=["text"]), [TEXT[0], TEXT[1]])

    def test_bad_patterns_are_refused(self):
        cases = [
            ("{ $.eventType = UpdateTrail", "If a filter pattern starts with '{' it must end with '}'"),
            ("%(ERROR)%", "Invalid character(s) in term"),
            ("%ERROR!%", "Invalid character(s) in term"),
            ("email@example.com", "Invalid filter pattern"),
            ('"unclosed', "Invalid filter pattern"),
            ("{ $.a IS NOT NULL }", "Invalid filter pattern"),
            ("{ $.a == 1 }", "Invalid filter pattern"),
            ("{ $.a > abc }", "Invalid filter pattern"),
            ("{ $.a = %x% || $.b = %y% || $.c = %z% }", "Invalid filter pattern"),
            ("{ " + "(" * 33 + "$.a = 1" + ")" * 33 + " }", "Invalid filter pattern"),
            ("[a,,b]", "Invalid filter pattern"),
            ("[status_code = 4* && bytes > 1000]", "Invalid filter pattern"),
            ("[a", "Invalid filter pattern"),
            ("%a{2,1}%", "Invalid filter pattern"),
        ]
        for pattern, message in cases:
            with self.subTest(pattern=pattern):
                e = client_error(self.logs.filter_log_events, logGroupName=GROUP, filterPattern=pattern)
                self.assertEqual(e.response["Error"]["Code"], "InvalidParameterException")
                self.assertEqual(e.response["Error"]["Message"], message)
        # The API's length limit is the front end's model check, as for every member.
        e = client_error(self.logs.filter_log_events, logGroupName=GROUP, filterPattern="a" * 1025)
        self.assertEqual(e.response["Error"]["Code"], "ValidationException")
        self.assertIn("Member must have length less than or equal to 1024", e.response["Error"]["Message"])
        # 1024 characters are fine.
        self.assertEqual(self.filtered("a" * 1024), [])

    def test_filter_log_events_pages_with_its_own_tokens_only(self):
        first = self.logs.filter_log_events(logGroupName=GROUP, logStreamNames=["text"], limit=2)
        self.assertEqual([e["message"] for e in first["events"]], TEXT[:2])
        self.assertIn("nextToken", first)
        second = self.logs.filter_log_events(logGroupName=GROUP, logStreamNames=["text"], limit=2,
                                             nextToken=first["nextToken"])
        self.assertEqual([e["message"] for e in second["events"]], TEXT[2:4])
        self.assertEqual(self.filtered("", streams=["text"], limit=2), TEXT)
        self.assertEqual(self.filtered("ERROR", limit=1), [TEXT[0], TEXT[1], TEXT[4]])
        for token in ["garbage", "0", "-1", "+2", "2x", " 2", "02", "99999", "18446744073709551616"]:
            with self.subTest(token=token):
                e = client_error(self.logs.filter_log_events, logGroupName=GROUP, logStreamNames=["text"],
                                 limit=2, nextToken=token)
                self.assertEqual(e.response["Error"]["Code"], "InvalidParameterException")
                self.assertEqual(e.response["Error"]["Message"], "The specified nextToken is invalid.")

    def test_describe_log_streams_pages_with_its_own_tokens_only(self):
        names, token, pages = [], None, 0
        while True:
            kw = {"nextToken": token} if token else {}
            page = self.logs.describe_log_streams(logGroupName=GROUP, limit=1, **kw)
            names += [s["logStreamName"] for s in page["logStreams"]]
            pages += 1
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(names, ["access", "json", "text"])
        self.assertEqual(pages, 3)
        for token in ["garbage", "0", "-1", "1.5", "4", "99999999999999999999"]:
            with self.subTest(token=token):
                e = client_error(self.logs.describe_log_streams, logGroupName=GROUP, limit=1, nextToken=token)
                self.assertEqual(e.response["Error"]["Code"], "InvalidParameterException")
                self.assertEqual(e.response["Error"]["Message"], "The specified nextToken is invalid.")


if __name__ == "__main__":
    harness.main()
