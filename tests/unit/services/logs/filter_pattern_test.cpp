#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include "services/logs/filter_pattern.h"

using sless::services::logs::compile_filter_pattern;
using sless::services::logs::FilterPattern;

namespace filter_pattern_test {

FilterPattern compiled(const std::string& pattern) {
  auto r = compile_filter_pattern(pattern);
  if (auto* why = std::get_if<std::string>(&r)) FAIL("pattern " << pattern << " refused: " << *why);
  return std::get<FilterPattern>(r);
}

// Which of the messages the pattern matches.
std::vector<std::string> which(const std::string& pattern, const std::vector<std::string>& messages) {
  FilterPattern p = compiled(pattern);
  std::vector<std::string> out;
  for (const auto& m : messages) {
    if (p.matches(m)) out.push_back(m);
  }
  return out;
}

bool matches(const std::string& pattern, const std::string& message) { return compiled(pattern).matches(message); }

// The error message, or "" when the pattern compiles.
std::string refusal(const std::string& pattern) {
  auto r = compile_filter_pattern(pattern);
  auto* why = std::get_if<std::string>(&r);
  return why ? *why : "";
}

using Strings = std::vector<std::string>;

}  // namespace filter_pattern_test

using namespace filter_pattern_test;

TEST_CASE("an empty or blank filter pattern matches every event", "[logs][filter_pattern]") {
  for (const char* p : {"", "   ", "\t\n", "\"\"", "\" \"", "\"\" \" \""}) {
    FilterPattern f = compiled(p);
    CHECK(f.matches(""));
    CHECK(f.matches("anything at all"));
  }
  CHECK(compiled("").kind() == FilterPattern::Kind::kEverything);
  CHECK(compiled("\" \"").kind() == FilterPattern::Kind::kTerms);
}

TEST_CASE("unstructured terms: all must appear, case-sensitive substrings", "[logs][filter_pattern]") {
  Strings lines = {"[ERROR 400] BAD REQUEST", "[ERROR 401] UNAUTHORIZED REQUEST", "[ERROR 419] MISSING ARGUMENTS",
                   "[ERROR 420] INVALID ARGUMENTS", "Exiting with ERRORCODE: -1", "error: lower case", "[WARN] ok"};
  CHECK(compiled("ERROR").kind() == FilterPattern::Kind::kTerms);
  CHECK(which("ERROR", lines) == Strings{lines[0], lines[1], lines[2], lines[3], lines[4]});
  CHECK(which("ERROR ARGUMENTS", lines) == Strings{lines[2], lines[3]});
  CHECK(which("  ARGUMENTS   ERROR  ", lines) == Strings{lines[2], lines[3]});
  CHECK(which("\"INVALID ARGUMENTS\"", lines) == Strings{lines[3]});
  CHECK(which("\"ERROR 4\" BAD", lines) == Strings{lines[0]});
  CHECK(which("\"ERROR][grpc\"", {"2025-03-28 [ERROR][grpc] failed", "[ERROR] [grpc]"}) ==
        Strings{"2025-03-28 [ERROR][grpc] failed"});
  CHECK(which("under_score 42", {"an under_score and 42", "under score 42"}) == Strings{"an under_score and 42"});
  CHECK(which("\"say \\\"hi\\\"\"", {"they say \"hi\" twice", "say hi"}) == Strings{"they say \"hi\" twice"});
}

TEST_CASE("unstructured terms: -term excludes, ?terms are alternatives only on their own", "[logs][filter_pattern]") {
  Strings lines = {"[ERROR 400] BAD REQUEST", "[ERROR 401] UNAUTHORIZED REQUEST", "[ERROR 419] MISSING ARGUMENTS",
                   "[ERROR 420] INVALID ARGUMENTS", "[INFO] REQUEST FAILED", "[WARN] nothing"};
  CHECK(which("ERROR -ARGUMENTS", lines) == Strings{lines[0], lines[1]});
  CHECK(which("-ARGUMENTS", lines) == Strings{lines[0], lines[1], lines[4], lines[5]});
  CHECK(which("?BAD ?INVALID", lines) == Strings{lines[0], lines[3]});
  CHECK(which("?ERROR ?ARGUMENTS", lines) == Strings{lines[0], lines[1], lines[2], lines[3]});
  // Mixed with other terms, ?terms are ignored.
  CHECK(which("?ERROR ?ARGUMENTS REQUEST", lines) == Strings{lines[0], lines[1], lines[4]});
  CHECK(which("?BAD -ERROR", lines) == Strings{lines[4], lines[5]});
  // The guide's older example puts a space after the minus.
  CHECK(which("\"ERROR\" - \"Exiting\"", {"ERROR here", "Exiting with ERRORCODE: -1"}) == Strings{"ERROR here"});
  Strings clean = {"map clean up", "xyz", "xyz will do clean up", "abc xy yz xz", "map is cleaned up"};
  CHECK(which("?\"clean up\" ?xyz", clean) == Strings{clean[0], clean[1], clean[2]});
}

TEST_CASE("unstructured terms: symbols need quotes, quotes must close", "[logs][filter_pattern]") {
  for (const char* p : {"email@example.com", "a/b", "ERROR:", "foo.bar", "a-b", "\"unclosed", "ERROR \"open", "-",
                        "?", "ERROR -", "\"a\"b", "x\"a\"", "--x", "-?x", "caf\xc3\xa9", "(a)", "a,b"}) {
    CHECK(refusal(p) == "Invalid filter pattern");
  }
  CHECK(refusal("\"email@example.com\" \"a/b\" -\"c:d\" ?\"x.y\"").empty());
}

TEST_CASE("regex: the guide's examples of each operator", "[logs][filter_pattern]") {
  CHECK(compiled("%AUTHORIZED%").kind() == FilterPattern::Kind::kRegex);
  CHECK(which("%AUTHORIZED%", {"[ERROR 401] UNAUTHORIZED REQUEST", "[SUCCESS 200] AUTHORIZED REQUEST", "authorized"})
            .size() == 2);
  CHECK(which("%^[hc]at%", {"hat trick", "cat", "that", " cat", "bat"}) == Strings{"hat trick", "cat"});
  CHECK(which("%[hc]at$%", {"that", "cat", "cats", "hat "}) == Strings{"that", "cat"});
  CHECK(which("%colou?r%", {"color", "colour", "colouur", "colr"}) == Strings{"color", "colour"});
  CHECK(which("%[abcx-z]%", {"a", "y", "d", "w", "Z"}) == Strings{"a", "y"});
  CHECK(which("%^a{3,5}$%", {"aa", "aaa", "aaaa", "aaaaa", "aaaaaa"}) == Strings{"aaa", "aaaa", "aaaaa"});
  CHECK(which("%^a{3}$%", {"aa", "aaa", "aaaa"}) == Strings{"aaa"});
  CHECK(which("%^a{2,}$%", {"a", "aa", "aaaaaaa"}) == Strings{"aa", "aaaaaaa"});
  CHECK(which("%^a{,2}b%", {"b", "ab", "aab", "aaab"}) == Strings{"b", "ab", "aab"});
  CHECK(which("%^a{1, 2}$%", {"a", "aa", "aaa"}) == Strings{"a", "aa"});
  CHECK(which("%gra|ey%", {"gray", "grey", "gruy"}) == Strings{"gray", "grey"});
  Strings states = {"starting up", "initializing now", "shutting down", "skipping initializing", "shutting up"};
  CHECK(which("%^starting|^initializing|^shutting down%", states) == Strings{states[0], states[1], states[2]});
  CHECK(which("%abcc|ab[^c]$%", {"abcc x", "xxaba", "aac", "abc"}) == Strings{"abcc x", "xxaba"});
  CHECK(which("%\\[.\\]%", {"[a]", "[7]", "[@]", "[]]", "[ ]", "[]", "[ab]"}) ==
        Strings{"[a]", "[7]", "[@]", "[]]", "[ ]"});
  CHECK(which("%10\\.10\\.0\\.1%", {"10.10.0.1", "10010,051"}) == Strings{"10.10.0.1"});
  CHECK(which("%10.10.0.1%", {"10.10.0.1", "10010,051"}) == Strings{"10.10.0.1", "10010,051"});
  CHECK(which("%ab*c%", {"ac", "abc", "abbbc", "adc"}) == Strings{"ac", "abc", "abbbc"});
  CHECK(which("%ab[0-9]*%", {"ab", "ab0", "ab129", "a"}) == Strings{"ab", "ab0", "ab129"});
  CHECK(which("%ab+c%", {"ac", "abc", "abbc"}) == Strings{"abc", "abbc"});
  CHECK(which("%.at%", {"hat", "#at", " at", "at", "\nat"}) == Strings{"hat", "#at", " at"});
  CHECK(which("%^\\d+$%", {"123", "12a", ""}) == Strings{"123"});
  CHECK(which("%^\\D+$%", {"abc", "a1"}) == Strings{"abc"});
  CHECK(which("%a\\sb%", {"a b", "a\tb", "a\nb", "ab", "a_b"}) == Strings{"a b", "a\tb", "a\nb"});
  CHECK(which("%a\\Sb%", {"a b", "a_b"}) == Strings{"a_b"});
  CHECK(which("%^\\w+$%", {"ab_9", "a-b"}) == Strings{"ab_9"});
  CHECK(which("%\\W%", {"ab_9", "a-b"}) == Strings{"a-b"});
  CHECK(which("%\\x3A%", {"a:b", "ab"}) == Strings{"a:b"});
  CHECK(which("%f\\x28x\\x29%", {"f(x)", "fx"}) == Strings{"f(x)"});
  CHECK(which("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", {"from 192.168.0.10 ok", "1.2.3"}) ==
        Strings{"from 192.168.0.10 ok"});
  CHECK(which("%[Ee]rror|[Ff]ail%", {"Error", "error", "fail", "FAIL"}) == Strings{"Error", "error", "fail"});
  CHECK(which("%[^a-c]%", {"abc", "abcd", ""}) == Strings{"abcd"});
  CHECK(which("%a*%", {"", "b"}) == Strings{"", "b"});  // an empty match is a match
}

TEST_CASE("regex: what is outside the documented subset is refused", "[logs][filter_pattern]") {
  for (const char* p : {"%something!%", "%(a)%", "%a(b%", "%caf\xc3\xa9%", "%a\"b%", "%a%b%", "%a'b%", "%a&b%"}) {
    CHECK(refusal(p) == "Invalid character(s) in term");
  }
  for (const char* p : {"%%", "%a", "%", "%a|%", "%|a%", "%*a%", "%a**%", "%a+?%", "%a{2}*%", "%[a%", "%[]%",
                        "%[^]%", "%a{2,1}%", "%a{1001}%", "%a{}%", "%a{,}%", "%a{x}%", "%a{2%", "%\\q%", "%\\b%",
                        "%\\1%", "%\\x4%", "%\\xZZ%", "%a^b%", "%a$b%", "%^^a%", "%[z-a]%", "%]%", "%}%", "%a\\%",
                        "%^%", "%^$%"}) {
    CHECK(refusal(p) == "Invalid filter pattern");
  }
  // Counts are expanded into NFA positions, and their number is capped.
  CHECK(refusal("%a{1000}%").empty());
  CHECK(refusal("%a{1000}b{1000}c{100}%") == "Invalid filter pattern");
}

TEST_CASE("regex: a non-backtracking matcher agrees with std::regex on random expressions", "[logs][filter_pattern]") {
  std::mt19937 rng(20261128);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* atoms[] = {"a", "b", "c", ".", "[ab]", "[^a]", "[a-b]", "\\d", "\\w", "1"};
  const char* repeats[] = {"", "", "", "?", "*", "+", "{2}", "{0,2}", "{1,3}", "{2,}"};
  int agreed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string re;
    int alternatives = 1 + pick(3);
    for (int a = 0; a < alternatives; ++a) {
      if (a) re += "|";
      if (pick(4) == 0) re += "^";
      int items = 1 + pick(4);
      for (int k = 0; k < items; ++k) re += std::string(atoms[pick(10)]) + repeats[pick(10)];
      if (pick(4) == 0) re += "$";
    }
    FilterPattern ours = compiled("%" + re + "%");
    std::regex theirs(re, std::regex::ECMAScript);
    for (int s = 0; s < 8; ++s) {
      std::string text;
      int len = pick(9);
      for (int k = 0; k < len; ++k) text += "abc1 "[pick(5)];
      INFO("regex " << re << " on \"" << text << "\"");
      REQUIRE(ours.matches(text) == std::regex_search(text, theirs));
      ++agreed;
    }
  }
  CHECK(agreed == 24000);
}

TEST_CASE("regex: counted repeats spanning several words agree with std::regex", "[logs][filter_pattern]") {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* atoms[] = {"a", "b", ".", "[ab]", "[^b]"};
  const char* repeats[] = {"", "*", "+", "?", "{0,40}", "{30,70}", "{65}", "{3,}", "{0,70}", "{63,64}"};
  for (int round = 0; round < 400; ++round) {
    std::string re;
    int alternatives = 1 + pick(2);
    for (int a = 0; a < alternatives; ++a) {
      if (a) re += "|";
      if (pick(3) == 0) re += "^";
      int items = 1 + pick(4);
      for (int k = 0; k < items; ++k) re += std::string(atoms[pick(5)]) + repeats[pick(10)];
      if (pick(3) == 0) re += "$";
    }
    FilterPattern ours = compiled("%" + re + "%");
    std::regex theirs(re, std::regex::ECMAScript);
    for (int s = 0; s < 6; ++s) {
      std::string text;
      int len = pick(160);
      for (int k = 0; k < len; ++k) text += "aaab"[pick(4)];
      INFO("regex " << re << " on \"" << text << "\"");
      REQUIRE(ours.matches(text) == std::regex_search(text, theirs));
    }
  }
}

TEST_CASE("regex: long positions chains cross 64-bit words", "[logs][filter_pattern]") {
  // 150 optional positions then a mandatory one: readiness passes on across three words.
  FilterPattern p = compiled("%^x{0,150}y$%");
  CHECK(p.matches("y"));
  CHECK(p.matches(std::string(64, 'x') + "y"));
  CHECK(p.matches(std::string(150, 'x') + "y"));
  CHECK_FALSE(p.matches(std::string(151, 'x') + "y"));
  FilterPattern q = compiled("%a{70}b|c{3}%");
  CHECK(q.matches(std::string(70, 'a') + "b"));
  CHECK_FALSE(q.matches(std::string(69, 'a') + "b"));
  CHECK(q.matches("xxcccxx"));
}

namespace filter_pattern_test {

const char* kTrail = R"({"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"], "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null, "ThisFlag": true, "ThatFlag": false, "cluster.name": "c"})";

const char* kUsers = R"({"user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
  "actions": ["GET", "PUT", "DELETE"], "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]})";

}  // namespace filter_pattern_test

TEST_CASE("JSON: the guide's examples on its sample event", "[logs][filter_pattern]") {
  CHECK(compiled("{ $.eventType = \"UpdateTrail\" }").kind() == FilterPattern::Kind::kJson);
  for (const char* p :
       {"{ $.eventType = \"UpdateTrail\" }", "{$.eventType=UpdateTrail}", "{ $.sourceIPAddress != 123.123.* }",
        "{ $.arrayKey[0] = \"value\" }", "{ $.objectList[1].id = 2 }", "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }", "{ $.ThisFlag IS TRUE }", "{ $.ThatFlag IS FALSE }",
        "{ $.eventType = %Trail% }", "{ $.arrayKey[*] = %val.{2}% }", "{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }",
        "{ $.['cluster.name'] = \"c\" }", "{ $.objectList[*].name = b }", "{ $.eventType = *Trail }",
        "{ $.eventType = Update* }", "{ $.eventType = *date* }", "{ $.eventType != Update }"}) {
    INFO(p);
    CHECK(matches(p, kTrail));
  }
  for (const char* p :
       {"{ $.eventType = \"Update\" }", "{ $.sourceIPAddress != 111.111.* }", "{ $.arrayKey[2] = \"value\" }",
        "{ $.arrayKey[0] = \"Value\" }", "{ $.objectList[1].id = 1 }", "{ $.objectList.id = 1 }",
        "{ $.eventType IS NULL }", "{ $.SomeObject NOT EXISTS }", "{ $.ThisFlag IS FALSE }",
        "{ $.ThatFlag IS TRUE }", "{ $.Missing IS NULL }", "{ $.eventType = %^Trail% }",
        "{ $.arrayKey[*] = %^val$% }", "{ $.cluster.name = \"c\" }", "{ $.eventType = Up*Trail }",
        "{ $.objectList = 1 }", "{ $.objectList != 1 }", "{ $.SomeObject = null }", "{ $.ThisFlag = true }"}) {
    INFO(p);
    CHECK_FALSE(matches(p, kTrail));
  }
  // '*' only at the ends is a wildcard: Ev*ent matches itself.
  CHECK(matches("{ $.a = Ev*ent }", R"({"a": "Ev*ent"})"));
  CHECK_FALSE(matches("{ $.a = Ev*ent }", R"({"a": "Event"})"));
}

TEST_CASE("JSON: compound expressions follow () > && > ||", "[logs][filter_pattern]") {
  CHECK(matches("{ ($.user.id = 1) && ($.users[0].email = \"John.Doe@example.com\") }", kUsers));
  CHECK_FALSE(matches("{ ($.user.id = 2 && $.users[0].email = \"nonmatch\") || $.actions[2] = \"GET\" }", kUsers));
  CHECK(matches("{ $.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\" && "
                "$.actions[2] = \"nonmatch\" }",
                kUsers));
  CHECK_FALSE(matches("{ ($.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\") && "
                      "$.actions[2] = \"nonmatch\" }",
                      kUsers));
  CHECK(matches("{ $.coordinates[2][0] = 7 && $.actions[1] = PUT }", kUsers));
  CHECK(matches("{ $.users[*].id = 3 }", kUsers));
  CHECK(which("{$.foo = bar || $.foo = baz}", {R"({"foo": "bar"})", R"({"foo": "baz"})", R"({"foo": "qux"})"}) ==
        Strings{R"({"foo": "bar"})", R"({"foo": "baz"})"});
  CHECK(matches("{ ((((($.user.id = 1))))) }", kUsers));
}

TEST_CASE("JSON: numeric comparisons", "[logs][filter_pattern]") {
  const char* doc = R"({"bandwidth": 80, "latency": 49.5, "refreshRate": 60, "responseTime": 5, "errorCode": 400,
    "number": [1000, 0.002], "text": "abc", "code": "404", "big": 1e300})";
  for (const char* p : {"{ $.bandwidth > 75 }", "{ $.latency < 50 }", "{ $.refreshRate >= 60 }",
                        "{ $.responseTime <= 5 }", "{ $.errorCode = 400 }", "{ $.errorCode != 500 }",
                        "{ $.number[0] = 1e+3 }", "{ $.number[1] != 1e-3 }", "{ $.number[0] = 10e2 }",
                        "{ $.latency > +49 }", "{ $.latency = 49.50 }", "{ $.latency > -1 }", "{ $.big > 1e299 }",
                        "{ $.errorCode = 4* }", "{ $.latency = * }", "{ $.code = 404 }", "{ $.code > 400 }",
                        "{ $.text != 5 }"}) {
    INFO(p);
    CHECK(matches(p, doc));
  }
  for (const char* p : {"{ $.bandwidth > 80 }", "{ $.latency < 49.5 }", "{ $.errorCode = 401 }",
                        "{ $.errorCode != 400 }", "{ $.number[0] > 1e3 }", "{ $.text > 1 }", "{ $.text = 5 }",
                        "{ $.number > 1 }", "{ $.missing != 1 }"}) {
    INFO(p);
    CHECK_FALSE(matches(p, doc));
  }
}

TEST_CASE("JSON: only JSON objects are looked into", "[logs][filter_pattern]") {
  FilterPattern p = compiled("{ $.a = 1 }");
  CHECK(p.matches(R"({"a": 1})"));
  CHECK(p.matches("  {\"a\": 1}\n"));
  CHECK_FALSE(p.matches("a = 1"));
  CHECK_FALSE(p.matches(R"([{"a": 1}])"));
  CHECK_FALSE(p.matches(R"({"a": 1} trailing)"));
  CHECK_FALSE(p.matches(R"(INFO {"a": 1})"));
  CHECK_FALSE(p.matches(R"({"a": 1)"));
  CHECK_FALSE(p.matches(""));
  CHECK(compiled("{ $.a NOT EXISTS }").matches("{}"));
  CHECK_FALSE(compiled("{ $.a NOT EXISTS }").matches("not json"));
}

TEST_CASE("JSON: malformed patterns are refused", "[logs][filter_pattern]") {
  CHECK(refusal("{ $.a = 1") == "If a filter pattern starts with '{' it must end with '}'");
  CHECK(refusal("{") == "If a filter pattern starts with '{' it must end with '}'");
  for (const char* p :
       {"{}", "{ }", "{ $.a }", "{ $.a == 1 }", "{ $.a = }", "{ a = 1 }", "{ $a = 1 }", "{ $ = 1 }", "{ $. = 1 }",
        "{ $.a. = 1 }", "{ $.a[x] = 1 }", "{ $.a[1 = 1 }", "{ $.a[-1] = 1 }", "{ $.a[1234567890] = 1 }",
        "{ $.['a = 1 }", "{ $.a > abc }", "{ $.a > \"1\" }", "{ $.a < %1% }", "{ $.a IS NOT NULL }",
        "{ $.a EXISTS }", "{ $.a IS true }", "{ $.a IS }", "{ $.a NOT }", "{ ($.a = 1 }", "{ $.a = 1) }",
        "{ $.a = 1 && }", "{ && $.a = 1 }", "{ $.a = 1 & $.b = 2 }", "{ $.a = 1 | $.b = 2 }", "{ $.a = 1 $.b = 2 }",
        "{ $.a = \"x }", "{ $.a = foo@bar }", "{ $.a = %x }", "{ $.a = %x(% }", "{ $.a = 1, $.b = 2 }",
        "{ !($.a = 1) }", "{ $.a = ... }", "{ $.*.* = 1 }", "{ $.a[*][*] = 1 }", "{ $.a = 1 } x"}) {
    INFO(p);
    CHECK(!refusal(p).empty());
  }
  CHECK(refusal("{ $.a = %x!% }") == "Invalid character(s) in term");
  // At most one wildcard per selector, three per pattern; two regexes per pattern.
  CHECK(refusal("{ $.* = 1 || $.a[*] = 1 || $.b.* = 1 }").empty());
  CHECK(!refusal("{ $.* = 1 || $.a[*] = 1 || $.b.* = 1 || $.c[*] = 1 }").empty());
  CHECK(refusal("{ $.a = %x% || $.b = %y% }").empty());
  CHECK(refusal("{ $.a = %x% || $.b = %y% || $.c = %z% }") == "Invalid filter pattern");
  // Parentheses nest 32 deep, no deeper.
  std::string ok = "{ " + std::string(32, '(') + "$.a = 1" + std::string(32, ')') + " }";
  std::string deep = "{ " + std::string(33, '(') + "$.a = 1" + std::string(33, ')') + " }";
  CHECK(refusal(ok).empty());
  CHECK(compiled(ok).matches(R"({"a": 1})"));
  CHECK(refusal(deep) == "Invalid filter pattern");
  CHECK(refusal("{ " + std::string(500, '(') + " }") == "Invalid filter pattern");
}

namespace filter_pattern_test {

const Strings kAccess = {
    R"(127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534)",
    R"(127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 404 5324)",
    R"(127.0.0.9 Prod frank [10/Oct/2000:13:50:35 -0700] "GET /about.html HTTP/1.0" 403 999)",
    R"(10.0.0.1 - bob [10/Oct/2000:13:50:35 -0700] "POST /form.html HTTP/1.0" 500 4355)",
};

const Strings kService = {
    "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
    "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
    "WARNING 09/25/2014 12:00:02 Invalid user request",
    "ERROR 09/25/2014 12:00:02 Failed to process request",
};

}  // namespace filter_pattern_test

TEST_CASE("space-delimited: fields, conditions and ellipses", "[logs][filter_pattern]") {
  const Strings& a = kAccess;
  CHECK(compiled("[ip, user, username, timestamp, request, status_code, bytes]").kind() ==
        FilterPattern::Kind::kDelimited);
  CHECK(which("[ip, user, username, timestamp, request, status_code, bytes]", a) == a);
  CHECK(which("[ip, user, username, timestamp, request, status_code, bytes > 1000]", a) == Strings{a[0], a[1], a[3]});
  CHECK(which("[ip, user, username, timestamp, request, status_code = 200, bytes]", a) == Strings{a[0]});
  CHECK(which("[ip, user, username, timestamp, request, status_code = 4*, bytes]", a) == Strings{a[1], a[2]});
  CHECK(which("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", a) ==
        Strings{a[1], a[2]});
  CHECK(which("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", a) ==
        Strings{a[1]});
  CHECK(which("[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 500, bytes]",
              a) == Strings{a[1], a[3]});
  CHECK(which("[ip=%127\\.0\\.0\\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
              a) == Strings{a[1], a[2]});
  CHECK(which("[..., status_code = 5*, bytes]", a) == Strings{a[3]});
  CHECK(which("[..., request = *.html*, status_code = 4*, bytes]", a) == Strings{a[1], a[2]});
  CHECK(which("[ip, user = Prod, ..., status_code, bytes]", a) == Strings{a[2]});
  CHECK(which("[ip = 10.*, user, ...]", a) == Strings{a[3]});
  CHECK(which("[...]", a) == a);
  // Brackets and quotes make one field, without them: the timestamp and the request.
  CHECK(!refusal("[ip, user, username, timestamp = 10/Oct/2000:13:25:15*, ...]").empty());  // needs quotes
  CHECK(which("[ip, user, username, timestamp = \"10/Oct/2000:13:25:15 -0700\", ...]", a) == Strings{a[0]});
  CHECK(which("[..., request = \"GET /index.html HTTP/1.0\", status_code, bytes]", a) == Strings{a[1]});
  // The guide's trailing comma: one more, unnamed, field.
  CHECK(which("[..., request=*.html*, status_code=4*,]", a) == Strings{a[1], a[2]});
  // Ellipses in the middle: each group of slots between two of them matches where it can.
  Strings words = {"a b c d e", "a x b c e", "a b", "a c b e"};
  CHECK(which("[first = a, ..., w = b, ..., last = e]", words) == Strings{words[0], words[1], words[3]});
  CHECK(which("[..., w = b, x = c, ..., last]", words) == Strings{words[0], words[1]});
  CHECK(which("[..., w = c, ..., y = b, ...]", words) == Strings{words[3]});
}

TEST_CASE("space-delimited: without an ellipsis the last field takes the rest of the line", "[logs][filter_pattern]") {
  const Strings& s = kService;
  CHECK(which("[w1=ERROR, w2]", s) == Strings{s[3]});
  CHECK(which("[w1=ERROR || w1=WARNING, w2]", s) == Strings{s[2], s[3]});
  CHECK(which("[w1!=ERROR && w1!=WARNING, w2]", s) == Strings{s[0], s[1]});
  CHECK(which("[w1=ERROR]", s).empty());  // one slot, four or more fields: the whole line is w1
  CHECK(which("[w1=INFO*]", s) == Strings{s[0], s[1]});
  CHECK(which("[w1, w2 = *request]", s) == Strings{s[2], s[3]});
  CHECK(which("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", s) ==
        Strings{s[0]});
  CHECK(which("[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", s) ==
        Strings{s[1]});
  // Fewer fields than slots never match.
  CHECK(which("[a, b, c, d, e, f, g, h]", s).empty());
  CHECK_FALSE(matches("[a]", ""));
  CHECK_FALSE(matches("[a]", "   "));
  CHECK(matches("[a = x]", "  x  "));
  // Numbers compare as numbers, text as text.
  CHECK(matches("[n = 1e3]", "1000"));
  CHECK(matches("[n >= 999.5]", "1000"));
  CHECK_FALSE(matches("[n > 5]", "abc"));
  CHECK(matches("[n != 5]", "abc"));
  CHECK(matches("[n = \"1e3\"]", "1e3"));
  CHECK_FALSE(matches("[n = \"1e3\"]", "1000"));
}

TEST_CASE("space-delimited: malformed patterns are refused", "[logs][filter_pattern]") {
  for (const char* p :
       {"[a", "[]", "[ ]", "[,]", "[a,,b]", "[,a]", "[a = ]", "[a > x]", "[a >= *]", "[a = 1 &&]", "[a = 1 && b = 2]",
        "[status_code = 4* && bytes > 1000]", "[a b]", "[a.b]", "[a-b]", "[\"a\"]", "[(a = 1)]", "[a = (1)]",
        "[a = foo@bar]", "[a = 1 b]", "[a == 1]", "[... = 1]", "[a = ...]", "[$.a = 1]", "[a = %x]",
        "[a = %x%, b = %y%, c = %z%]", "[a] b", "[a = 1 || = 2]"}) {
    INFO(p);
    CHECK(!refusal(p).empty());
  }
  CHECK(refusal("[a = %x%, b = %y%]").empty());
  CHECK(refusal("[a = %x!%]") == "Invalid character(s) in term");
}

TEST_CASE("a filter pattern is at most 1024 characters", "[logs][filter_pattern]") {
  CHECK(refusal(std::string(1024, 'a')).empty());
  CHECK(refusal(std::string(1025, 'a')).find("Member must have length less than or equal to 1024") !=
        std::string::npos);
  std::string wide = "\"";
  for (int i = 0; i < 1022; ++i) wide += "\xc3\xa9";  // é: two bytes, one character
  wide += "\"";
  CHECK(refusal(wide).empty());
  CHECK(!refusal(wide + " ").empty());
}

TEST_CASE("matching 256 KB messages takes linear time", "[logs][filter_pattern]") {
  const size_t kSize = 256 * 1024;
  auto timed = [](const std::string& pattern, const std::string& message) {
    FilterPattern p = compiled(pattern);
    auto start = std::chrono::steady_clock::now();
    bool m = p.matches(message);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    INFO(pattern.substr(0, 60));
    CHECK(ms.count() < 3000);
    return m;
  };
  std::string as(kSize, 'a');
  CHECK_FALSE(timed("\"" + std::string(1000, 'a') + "b\"", as));             // KMP, not quadratic
  CHECK_FALSE(timed("%a*a*a*a*a*a*a*a*a*a*b%", as));                          // no backtracking
  CHECK_FALSE(timed("%a{0,999}b%", as));                                       // long optional chains
  CHECK(timed("%" + std::string(900, 'a') + "%", as));
  std::string fields;
  while (fields.size() < kSize) fields += "a ";
  CHECK_FALSE(timed("[..., x = a, y = a, z = b, ...]", fields));
  CHECK(timed("[a, b, ...]", fields));
  CHECK_FALSE(timed("[a, ..., b = z]", std::string(kSize, '"')));
  CHECK_FALSE(timed("[a, ..., b = z]", std::string(kSize, '[')));
  // Deep JSON: nlohmann parses and frees it without recursing; the selector walks three levels.
  std::string deep;
  for (size_t i = 0; i < kSize / 8; ++i) deep += "{\"a\":";
  deep += "1";
  for (size_t i = 0; i < kSize / 8; ++i) deep += "}";
  CHECK(timed("{ $.a.a.a = * }", deep) == false);
  CHECK_FALSE(timed("{ $.a = 1 }", std::string(kSize, '[')));
  std::string wide = "{";
  for (int i = 0; i < 20000; ++i) wide += "\"k" + std::to_string(i) + "\":\"v" + std::to_string(i) + "\",";
  wide += "\"last\":\"needle\"}";
  CHECK(timed("{ $.* = needle }", wide));
}

TEST_CASE("a compiled pattern is shared by its copies and matches the same way each time", "[logs][filter_pattern]") {
  FilterPattern p = compiled("{ $.a = %x+% }");
  FilterPattern q = p;
  CHECK(q.kind() == FilterPattern::Kind::kJson);
  for (int i = 0; i < 3; ++i) {
    CHECK(p.matches(R"({"a": "yxxy"})"));
    CHECK(q.matches(R"({"a": "yxxy"})"));
    CHECK_FALSE(q.matches(R"({"a": "yy"})"));
  }
}
