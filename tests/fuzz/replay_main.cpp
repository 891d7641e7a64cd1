// fuzz_replay: every fuzz target's entry point in one binary, for compilers and runs without
// libFuzzer (ctest runs it on every build). It runs a target over its committed seed corpus and
// then a bounded number of deterministic mutations of those seeds (seeded PRNG: bit flips, byte
// sets, truncations, insertions, deletions, repeats, splices, dictionary tokens). Single-threaded.
//
//   fuzz_replay <target> [--corpus DIR] [--mutations N] [--seed S] [--max-len N] [FILE...]
//
// With FILEs it runs just those inputs (a crash libFuzzer found, under a debugger).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
int sless_fuzz_request(const uint8_t* data, size_t size);
int sless_fuzz_query(const uint8_t* data, size_t size);
int sless_fuzz_xml(const uint8_t* data, size_t size);
int sless_fuzz_aws_chunked(const uint8_t* data, size_t size);
int sless_fuzz_text(const uint8_t* data, size_t size);
int sless_fuzz_http(const uint8_t* data, size_t size);
int sless_fuzz_dynamodb(const uint8_t* data, size_t size);
int sless_fuzz_partiql(const uint8_t* data, size_t size);
int sless_fuzz_stack(const uint8_t* data, size_t size);
int sless_fuzz_routes(const uint8_t* data, size_t size);
int sless_fuzz_patterns(const uint8_t* data, size_t size);
int sless_fuzz_logs_pattern(const uint8_t* data, size_t size);
int sless_fuzz_json(const uint8_t* data, size_t size);
}

namespace {

using EntryPoint = int (*)(const uint8_t*, size_t);

struct Target {
  const char* name;
  EntryPoint entry;
};

constexpr Target kTargets[] = {
    {"fuzz_request", sless_fuzz_request}, {"fuzz_query", sless_fuzz_query},
    {"fuzz_xml", sless_fuzz_xml},         {"fuzz_aws_chunked", sless_fuzz_aws_chunked},
    {"fuzz_text", sless_fuzz_text},       {"fuzz_http", sless_fuzz_http},
    {"fuzz_dynamodb", sless_fuzz_dynamodb}, {"fuzz_partiql", sless_fuzz_partiql},
    {"fuzz_stack", sless_fuzz_stack},
    {"fuzz_routes", sless_fuzz_routes},   {"fuzz_patterns", sless_fuzz_patterns},
    {"fuzz_logs_pattern", sless_fuzz_logs_pattern}, {"fuzz_json", sless_fuzz_json},
};

// Tokens that matter to some parser under test; mutations splice them in.
constexpr std::string_view kTokens[] = {
    "\r\n", "\r\n\r\n", "\n", " ", "&", "=", "%", "%2", "%00", "+", ".", ".1", ".member.1", ".entry.1.key",
    "Action=", "<", ">", "</", "/>", "<![CDATA[", "]]>", "&amp;", "&#x0;", "\"", "'", ":", ";", ",", "{",
    "}", "[", "]", "null", "true", "0", "-1", "1e400", "9223372036854775808", "99999999999999999999999",
    "0x", "T", "Z", "GMT", "1970-01-01T00:00:00Z", "0\r\n\r\n", ";chunk-signature=", "Content-Length: ",
    "Transfer-Encoding: chunked\r\n", "Expect: 100-continue\r\n", "HTTP/1.1", "\xff", "\xc0\x80",
    "\xed\xa0\x80", "\xf4\x90\x80\x80",
    // DynamoDB expressions, templates, route keys, patterns.
    "#a", ":n", ":s", ":l", "(", ")", "SET ", " REMOVE ", " ADD ", " DELETE ", " AND ", " OR ", "NOT ", "BETWEEN ",
    " IN ", "size(", "attribute_exists(", "begins_with(", "list_append(", "if_not_exists(", "[0]", "[", "=", "<>",
    "!Ref ", "!GetAtt ", "!Sub ", "!If ", "Fn::", "${", "Resources:\n", "  Type: ", "    Properties:\n", "- ",
    "{proxy+}", "{id}", "ANY /", "$default", "\"prefix\"", "\"numeric\"", "\"anything-but\"", "\"$or\"",
    "\"exists\"", "cron(", "rate(", "*", "?",
    // PartiQL.
    "SELECT * FROM ", "\"fuzz\"", "\"fuzz\".\"by_g\"", " WHERE ", "INSERT INTO ", " VALUE {", "UPDATE ",
    " SET ", "DELETE FROM ", "EXISTS(", " RETURNING ALL NEW *", " IS MISSING", " IS NOT NULL",
    " ORDER BY ", " DESC", "<<", ">>", "'p'", "pk = 'p'", " AND sk = 1", "set_add(",
    // CloudWatch Logs filter patterns.
    "$.", "$.*", "[*]", "['a.b']", "&&", "||", "!=", "<=", " IS NULL", " IS TRUE", " NOT EXISTS", "...", "\\d",
    "\\x28", "{0,70}", "{2,}", "[^", "?\"", "-\"",
};

class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }

 private:
  uint64_t state_;
};

void mutate(std::string& s, const std::vector<std::string>& seeds, Prng& rng, size_t max_len) {
  switch (rng.below(9)) {
    case 0:  // flip a bit
      if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1u << rng.below(8));
      break;
    case 1:  // set a byte
      if (!s.empty()) s[rng.below(s.size())] = static_cast<char>(rng.next());
      break;
    case 2:  // truncate
      s.resize(rng.below(s.size() + 1));
      break;
    case 3: {  // insert random bytes
      std::string bytes(1 + rng.below(8), '\0');
      for (char& c : bytes) c = static_cast<char>(rng.next());
      s.insert(rng.below(s.size() + 1), bytes);
      break;
    }
    case 4: {  // insert a token
      const auto& t = kTokens[rng.below(std::size(kTokens))];
      s.insert(rng.below(s.size() + 1), t.data(), t.size());
      break;
    }
    case 5: {  // delete a range
      size_t at = rng.below(s.size() + 1);
      s.erase(at, 1 + rng.below(16));
      break;
    }
    case 6: {  // repeat a range
      if (s.empty()) break;
      size_t at = rng.below(s.size());
      std::string part = s.substr(at, 1 + rng.below(32));
      size_t times = 1 + rng.below(rng.below(4) == 0 ? 256 : 4);
      for (size_t i = 0; i < times && s.size() < max_len; ++i) s.insert(at, part);
      break;
    }
    case 7: {  // splice: this one's head, another seed's tail
      const std::string& other = seeds[rng.below(seeds.size())];
      s = s.substr(0, rng.below(s.size() + 1)) + other.substr(rng.below(other.size() + 1));
      break;
    }
    default: {  // overwrite the first byte (most targets read their mode from it)
      if (!s.empty()) s[0] = static_cast<char>(rng.next());
      break;
    }
  }
  if (s.size() > max_len) s.resize(max_len);
}

// The input being run, written to <target>.crash in the working directory when the run dies.
const std::string* g_current = nullptr;
char g_crash_path[256];

extern "C" void on_fatal_signal(int sig) {
  if (g_current) {
    int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t ignored = ::write(fd, g_current->data(), g_current->size());
      (void)ignored;
      ::close(fd);
      const char msg[] = "fuzz_replay: the failing input was written to ";
      ignored = ::write(2, msg, sizeof msg - 1);
      ignored = ::write(2, g_crash_path, std::strlen(g_crash_path));
      ignored = ::write(2, "\n", 1);
    }
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool read_file(const std::filesystem::path& p, std::string* out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: fuzz_replay <target> [--corpus DIR] [--mutations N] [--seed S] [--max-len N] [FILE...]\n"
                       "targets:");
  for (const auto& t : kTargets) std::fprintf(stderr, " %s", t.name);
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string name = argv[1];
  if (name.rfind("fuzz_", 0) != 0) name = "fuzz_" + name;
  const Target* target = nullptr;
  for (const auto& t : kTargets) {
    if (name == t.name) target = &t;
  }
  if (!target) return usage();

  std::filesystem::path corpus = std::filesystem::path(SLESS_FUZZ_CORPUS) / name;
  size_t mutations = 2000;
  uint64_t seed = 1;
  size_t max_len = 64 * 1024;
  std::vector<std::filesystem::path> files;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 < argc && a == "--corpus") {
      corpus = argv[++i];
    } else if (i + 1 < argc && a == "--mutations") {
      mutations = std::strtoull(argv[++i], nullptr, 10);
    } else if (i + 1 < argc && a == "--seed") {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (i + 1 < argc && a == "--max-len") {
      max_len = std::strtoull(argv[++i], nullptr, 10);
    } else if (!a.empty() && a[0] == '-') {
      return usage();
    } else {
      files.emplace_back(a);
    }
  }

  std::snprintf(g_crash_path, sizeof g_crash_path, "%s.crash", target->name);
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);
  auto run = [&](const std::string& input) {
    g_current = &input;
    target->entry(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  };
  auto start = std::chrono::steady_clock::now();

  if (!files.empty()) {
    for (const auto& f : files) {
      std::string input;
      if (!read_file(f, &input)) {
        std::fprintf(stderr, "cannot read %s\n", f.c_str());
        return 1;
      }
      std::fprintf(stderr, "%s: %s (%zu bytes)\n", target->name, f.c_str(), input.size());
      run(input);
    }
    return 0;
  }

  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(corpus, ec)) {
    if (e.is_regular_file()) paths.push_back(e.path());
  }
  if (ec || paths.empty()) {
    std::fprintf(stderr, "%s: no seed inputs in %s\n", target->name, corpus.c_str());
    return 1;
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> seeds;
  for (const auto& p : paths) {
    std::string input;
    if (!read_file(p, &input)) {
      std::fprintf(stderr, "cannot read %s\n", p.c_str());
      return 1;
    }
    run(input);
    seeds.push_back(std::move(input));
  }

  // The target's name joins the seed, so that targets do not all mutate alike.
  uint64_t mixed = seed;
  for (char c : name) mixed = mixed * 131 + static_cast<unsigned char>(c);
  Prng rng(mixed);
  for (size_t i = 0; i < mutations; ++i) {
    std::string input = seeds[rng.below(seeds.size())];
    size_t rounds = 1 + rng.below(4);
    for (size_t r = 0; r < rounds; ++r) mutate(input, seeds, rng, max_len);
    run(input);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %zu seeds and %zu mutations passed in %lld ms\n", target->name, seeds.size(), mutations,
              static_cast<long long>(ms));
  return 0;
}
