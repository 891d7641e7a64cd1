// Tokenizer, recursive-descent parsers and evaluator of DynamoDB expressions.
//
// Syntax errors stop the parse at once ("Syntax error; token: "x", near: "a x b""). Semantic
// errors (undefined placeholders, reserved words, misused functions, operand types, path
// overlaps) are collected by category while parsing goes on, and the one DynamoDB would report
// first is returned, following the category order of each expression kind.
#include "services/dynamodb/expression.h"

#include <algorithm>
#include <array>
#include <map>

#include "core/encoding.h"
#include "storage/decimal.h"

namespace sless::services::dynamodb::expr {

using storage::key::Decimal;

namespace {

// ---- tokens --------------------------------------------------------------------------------

enum class Tok {
  kIdent, kName, kValue, kNumber, kLParen, kRParen, kLBracket, kRBracket, kComma, kDot,
  kEq, kNe, kLt, kLe, kGt, kGe, kPlus, kMinus, kBad, kEof,
};

struct Token {
  Tok type = Tok::kEof;
  std::string_view text;
  size_t pos = 0;
};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto add = [&](Tok t, size_t start, size_t len) { out.push_back({t, s.substr(start, len), start}); };
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    const size_t start = i;
    if (c == '#' || c == ':') {
      ++i;
      while (i < s.size() && is_word_char(s[i])) {
        ++i;
      }
      if (i == start + 1) {
        add(Tok::kBad, start, 1);
        return out;
      }
      add(c == '#' ? Tok::kName : Tok::kValue, start, i - start);
      continue;
    }
    if (c >= '0' && c <= '9') {
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        ++i;
      }
      add(Tok::kNumber, start, i - start);
      continue;
    }
    if (is_word_char(c)) {
      while (i < s.size() && is_word_char(s[i])) {
        ++i;
      }
      add(Tok::kIdent, start, i - start);
      continue;
    }
    const char n = i + 1 < s.size() ? s[i + 1] : '\0';
    switch (c) {
      case '(': add(Tok::kLParen, start, 1); break;
      case ')': add(Tok::kRParen, start, 1); break;
      case '[': add(Tok::kLBracket, start, 1); break;
      case ']': add(Tok::kRBracket, start, 1); break;
      case ',': add(Tok::kComma, start, 1); break;
      case '.': add(Tok::kDot, start, 1); break;
      case '=': add(Tok::kEq, start, 1); break;
      case '+': add(Tok::kPlus, start, 1); break;
      case '-': add(Tok::kMinus, start, 1); break;
      case '<':
        if (n == '>') {
          add(Tok::kNe, start, 2);
        } else if (n == '=') {
          add(Tok::kLe, start, 2);
        } else {
          add(Tok::kLt, start, 1);
        }
        break;
      case '>':
        if (n == '=') {
          add(Tok::kGe, start, 2);
        } else {
          add(Tok::kGt, start, 1);
        }
        break;
      default: {
        // One UTF-8 character, whole.
        size_t len = 1;
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0xF0) {
          len = 4;
        } else if (b >= 0xE0) {
          len = 3;
        } else if (b >= 0xC0) {
          len = 2;
        }
        add(Tok::kBad, start, std::min(len, s.size() - start));
        return out;
      }
    }
    i += out.back().text.size();
  }
  out.push_back({Tok::kEof, {}, s.size()});
  return out;
}

// ---- semantic error categories -------------------------------------------------------------

enum Err {
  kParens, kUnknownFunction, kMisusedFunction, kSection, kReserved, kAttrName, kAttrVal,
  kPathOverlap, kPathConflict, kOperand, kDistinct, kFunction, kErrCount,
};

enum class Mode { kCondition, kUpdate, kProjection };

std::string type_word(Type t) {
  switch (t) {
    case Type::kS: return "STRING";
    case Type::kN: return "NUMBER";
    case Type::kB: return "BINARY";
    case Type::kNull: return "NULL";
    case Type::kBool: return "BOOLEAN";
    case Type::kL: return "LIST";
    case Type::kM: return "MAP";
    default: return std::string(type_name(t));
  }
}

std::string shown_value(const Json& av) {
  const Type t = type_of(av);
  if (t == Type::kInvalid) {
    return "{}";
  }
  const Json& p = payload(av);
  return "{" + std::string(type_name(t)) + ":" + (p.is_string() ? p.get<std::string>() : dump(p)) + "}";
}

// A parsed function call before it is known whether it is a condition or an operand.
struct Call {
  std::string name;
  std::vector<Operand> args;
};

class Parser {
 public:
  Parser(std::string_view text, Binder& binder, Mode mode)
      : text_(text), toks_(tokenize(text)), binder_(binder), mode_(mode) {}

  Parsed<Condition> condition() {
    if (text_.empty()) {
      return std::string("The expression can not be empty;");
    }
    Condition c = parse_or();
    if (!failed_ && peek().type != Tok::kEof) {
      syntax_error();
    }
    return finish(std::move(c));
  }

  Parsed<Update> update() {
    if (text_.empty()) {
      return std::string("The expression can not be empty;");
    }
    Update u;
    std::array<bool, 4> seen{};
    do {
      const Token& t = peek();
      ActionKind kind;
      if (t.type == Tok::kIdent && enc::iequals(t.text, "SET")) {
        kind = ActionKind::kSet;
      } else if (t.type == Tok::kIdent && enc::iequals(t.text, "REMOVE")) {
        kind = ActionKind::kRemove;
      } else if (t.type == Tok::kIdent && enc::iequals(t.text, "ADD")) {
        kind = ActionKind::kAdd;
      } else if (t.type == Tok::kIdent && enc::iequals(t.text, "DELETE")) {
        kind = ActionKind::kDelete;
      } else {
        syntax_error();
        break;
      }
      if (seen[static_cast<size_t>(kind)]) {
        error(kSection, "The \"" + upper(t.text) + "\" section can only be used once in an update expression;");
      }
      seen[static_cast<size_t>(kind)] = true;
      advance();
      do {
        UpdateAction a;
        a.kind = kind;
        a.path = parse_path();
        if (failed_) {
          break;
        }
        if (kind == ActionKind::kSet) {
          expect(Tok::kEq);
          a.value = parse_set_value();
        } else if (kind == ActionKind::kAdd || kind == ActionKind::kDelete) {
          if (peek().type != Tok::kValue) {
            syntax_error();
            break;
          }
          a.value = value_operand(advance());
          check_add_delete_operand(kind, a.value);
        }
        check_path(a.path);
        u.actions.push_back(std::move(a));
      } while (!failed_ && accept(Tok::kComma));
    } while (!failed_ && peek().type != Tok::kEof);
    return finish(std::move(u));
  }

  Parsed<std::vector<Path>> projection() {
    if (text_.empty()) {
      return std::string("The expression can not be empty;");
    }
    std::vector<Path> paths;
    do {
      paths.push_back(parse_path());
      if (!failed_) {
        check_path(paths.back());
      }
    } while (!failed_ && accept(Tok::kComma));
    if (!failed_ && peek().type != Tok::kEof) {
      syntax_error();
    }
    return finish(std::move(paths));
  }

 private:
  template <class T>
  Parsed<T> finish(T value) {
    if (failed_) {
      return syntax_;
    }
    static constexpr Err kConditionOrder[] = {kParens, kUnknownFunction, kMisusedFunction, kReserved, kAttrName,
                                             kOperand, kDistinct, kFunction};
    static constexpr Err kUpdateOrder[] = {kReserved, kUnknownFunction, kSection, kAttrName, kAttrVal,
                                          kPathOverlap, kPathConflict, kOperand, kFunction};
    static constexpr Err kProjectionOrder[] = {kReserved, kAttrName, kPathOverlap, kPathConflict};
    auto pick = [&](const auto& order) -> std::optional<std::string> {
      for (Err e : order) {
        if (errors_[e]) {
          return errors_[e];
        }
      }
      return std::nullopt;
    };
    std::optional<std::string> e = mode_ == Mode::kCondition ? pick(kConditionOrder)
                                   : mode_ == Mode::kUpdate  ? pick(kUpdateOrder)
                                                             : pick(kProjectionOrder);
    if (e) {
      return std::move(*e);
    }
    return value;
  }

  static std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 32);
      }
    }
    return out;
  }

  const Token& peek(size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& advance() {
    const Token& t = peek();
    if (pos_ < toks_.size() - 1) {
      ++pos_;
    }
    return t;
  }
  bool accept(Tok t) {
    if (peek().type == t) {
      advance();
      return true;
    }
    return false;
  }
  bool accept_keyword(std::string_view kw) {
    if (peek().type == Tok::kIdent && enc::iequals(peek().text, kw)) {
      advance();
      return true;
    }
    return false;
  }
  void expect(Tok t) {
    if (!failed_ && !accept(t)) {
      syntax_error();
    }
  }

  void error(Err category, std::string message) {
    // Names and values share one slot in conditions (whichever is met first wins).
    if (mode_ != Mode::kUpdate && category == kAttrVal) {
      category = kAttrName;
    }
    if (!errors_[category]) {
      errors_[category] = std::move(message);
    }
  }

  // "Syntax error; token: "x", near: "a x b"": the offending token, and the text from the token
  // before it to the token after it.
  void syntax_error() {
    if (failed_) {
      return;
    }
    failed_ = true;
    const Token& t = peek();
    const size_t from = pos_ > 0 ? toks_[pos_ - 1].pos : t.pos;
    size_t to = t.pos + t.text.size();
    if (t.type != Tok::kEof && t.type != Tok::kBad && pos_ + 1 < toks_.size() &&
        toks_[pos_ + 1].type != Tok::kEof) {
      to = toks_[pos_ + 1].pos + toks_[pos_ + 1].text.size();
    }
    const std::string token = t.type == Tok::kEof ? "<EOF>" : std::string(t.text);
    syntax_ = "Syntax error; token: \"" + token + "\", near: \"" + std::string(text_.substr(from, to - from)) + "\"";
  }

  // ---- paths and operands -------------------------------------------------------------------

  std::string path_name(const Token& t) {
    if (t.type == Tok::kName) {
      const std::string* n = binder_.name(t.text);
      if (n == nullptr) {
        error(kAttrName, "An expression attribute name used in the document path is not defined; attribute name: " +
                             std::string(t.text));
        return std::string(t.text);
      }
      return *n;
    }
    if (is_reserved_word(t.text)) {
      error(kReserved, "Attribute name is a reserved keyword; reserved keyword: " + std::string(t.text));
    }
    return std::string(t.text);
  }

  Path parse_path() {
    Path p;
    const Token& first = peek();
    if (first.type != Tok::kIdent && first.type != Tok::kName) {
      syntax_error();
      return p;
    }
    p.push_back({path_name(advance()), -1});
    for (;;) {
      if (accept(Tok::kLBracket)) {
        const Token& n = peek();
        if (n.type != Tok::kNumber || n.text.size() > 9) {
          syntax_error();
          return p;
        }
        p.push_back({"", std::stoll(std::string(advance().text))});
        expect(Tok::kRBracket);
        if (failed_) {
          return p;
        }
      } else if (accept(Tok::kDot)) {
        const Token& n = peek();
        if (n.type != Tok::kIdent && n.type != Tok::kName) {
          syntax_error();
          return p;
        }
        p.push_back({path_name(advance()), -1});
      } else {
        return p;
      }
    }
  }

  Operand value_operand(const Token& t) {
    const Json* v = binder_.value(t.text);
    if (v == nullptr) {
      error(kAttrVal,
            "An expression attribute value used in expression is not defined; attribute value: " + std::string(t.text));
      static const Json kNull = Json{{"NULL", true}};
      return Operand::of_value(&kNull);
    }
    return Operand::of_value(v);
  }

  Call parse_call() {
    Call c;
    c.name = std::string(advance().text);
    expect(Tok::kLParen);
    if (failed_) {
      return c;
    }
    do {
      c.args.push_back(mode_ == Mode::kUpdate ? parse_update_operand() : parse_condition_operand());
    } while (!failed_ && accept(Tok::kComma));
    expect(Tok::kRParen);
    return c;
  }

  // The type an operand has before any item is seen (literal values and function results).
  static std::optional<Type> static_type(const Operand& o) {
    switch (o.kind) {
      case OperandKind::kValue: return type_of(*o.value);
      case OperandKind::kSize:
      case OperandKind::kPlus:
      case OperandKind::kMinus: return Type::kN;
      case OperandKind::kListAppend: return Type::kL;
      case OperandKind::kIfNotExists: return o.args.size() == 2 ? static_type(o.args[1]) : std::nullopt;
      case OperandKind::kPath: return std::nullopt;
    }
    return std::nullopt;
  }

  bool check_operand_count(const Call& c, size_t n) {
    if (c.args.size() != n) {
      error(mode_ == Mode::kCondition ? kOperand : kFunction,
            "Incorrect number of operands for operator or function; operator or function: " + c.name +
                ", number of operands: " + std::to_string(c.args.size()));
      return false;
    }
    return true;
  }

  void check_distinct(std::string_view op, const std::vector<Operand>& args) {
    if (args.size() < 2 || args[0].kind != OperandKind::kPath) {
      return;
    }
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i].kind == OperandKind::kPath && args[i].path == args[0].path) {
        error(kDistinct, "The first operand must be distinct from the remaining operands for this operator or function; "
                         "operator: " + std::string(op) + ", first operand: " + path_to_string(args[0].path));
        return;
      }
    }
  }

  // size(path) as a condition operand; other functions here are misused.
  Operand call_to_operand(Call&& c) {
    if (c.name == "size") {
      if (check_operand_count(c, 1)) {
        if (auto t = static_type(c.args[0]); t && (*t == Type::kN || *t == Type::kBool || *t == Type::kNull)) {
          error(kFunction, "Incorrect operand type for operator or function; operator or function: size, operand type: " +
                               std::string(type_name(*t)));
        }
      }
      Operand o;
      o.kind = OperandKind::kSize;
      o.args = std::move(c.args);
      return o;
    }
    check_known_condition_function(c.name);
    error(kMisusedFunction, "The function is not allowed to be used this way in an expression; function: " + c.name);
    Operand o;
    o.kind = OperandKind::kSize;
    o.args = std::move(c.args);
    return o;
  }

  bool check_known_condition_function(const std::string& name) {
    static constexpr std::string_view kKnown[] = {"attribute_exists", "attribute_not_exists", "attribute_type",
                                                  "begins_with", "contains", "size"};
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      error(kUnknownFunction, "Invalid function name; function: " + name);
      return false;
    }
    return true;
  }

  Operand parse_condition_operand() {
    const Token& t = peek();
    if (t.type == Tok::kIdent && peek(1).type == Tok::kLParen) {
      return call_to_operand(parse_call());
    }
    if (t.type == Tok::kValue) {
      return value_operand(advance());
    }
    return Operand::of_path(parse_path());
  }

  // ---- conditions ---------------------------------------------------------------------------

  static Condition binary(CondKind kind, Condition a, Condition b) {
    Condition c;
    c.kind = kind;
    c.children.push_back(std::move(a));
    c.children.push_back(std::move(b));
    return c;
  }

  // left-associative "a OR b OR c" (and the same for AND), one precedence level each.
  Condition parse_binary(CondKind kind, std::string_view keyword, Condition (Parser::*operand)()) {
    Condition c = (this->*operand)();
    while (!failed_ && accept_keyword(keyword)) {
      c = binary(kind, std::move(c), (this->*operand)());
      just_closed_paren_ = false;
    }
    return c;
  }

  Condition parse_or() { return parse_binary(CondKind::kOr, "OR", &Parser::parse_and); }
  Condition parse_and() { return parse_binary(CondKind::kAnd, "AND", &Parser::parse_not); }

  // Nesting of parentheses and NOT: deeper input is refused as a syntax error instead of being
  // recursed into (4 KB of "(" overflowed the stack; found by fuzz_dynamodb).
  static constexpr int kMaxNesting = 256;
  bool enter() {
    if (++nesting_ > kMaxNesting) {
      syntax_error();
      return false;
    }
    return true;
  }

  Condition parse_not() {
    if (accept_keyword("NOT")) {
      Condition c;
      c.kind = CondKind::kNot;
      c.children.push_back(enter() ? parse_not() : Condition{});
      --nesting_;
      just_closed_paren_ = false;
      return c;
    }
    return parse_primary();
  }

  static bool is_comparator(Tok t) {
    return t == Tok::kEq || t == Tok::kNe || t == Tok::kLt || t == Tok::kLe || t == Tok::kGt || t == Tok::kGe;
  }

  bool at_comparison_tail() const {
    const Token& t = peek();
    return is_comparator(t.type) ||
           (t.type == Tok::kIdent && (enc::iequals(t.text, "BETWEEN") || enc::iequals(t.text, "IN")));
  }

  Condition parse_primary() {
    if (failed_) {
      return {};
    }
    if (accept(Tok::kLParen)) {
      if (!enter()) {
        --nesting_;
        return {};
      }
      just_closed_paren_ = false;
      Condition inner = parse_or();
      --nesting_;
      expect(Tok::kRParen);
      if (just_closed_paren_) {
        error(kParens, "The expression has redundant parentheses;");
      }
      just_closed_paren_ = true;
      return inner;
    }
    just_closed_paren_ = false;
    if (peek().type == Tok::kIdent && peek(1).type == Tok::kLParen) {
      Call call = parse_call();
      if (failed_) {
        return {};
      }
      if (at_comparison_tail()) {
        return parse_comparison_tail(call_to_operand(std::move(call)));
      }
      return call_to_condition(std::move(call));
    }
    if (peek().type != Tok::kIdent && peek().type != Tok::kName && peek().type != Tok::kValue) {
      syntax_error();
      return {};
    }
    return parse_comparison_tail(parse_condition_operand());
  }

  void check_ordering_operand(std::string_view op, const Operand& o) {
    if (auto t = static_type(o); t && !is_scalar_key_type(*t)) {
      error(kOperand, "Incorrect operand type for operator or function; operator: " + std::string(op) +
                          ", operand type: " + type_word(*t));
    }
  }

  Condition parse_comparison_tail(Operand lhs) {
    if (failed_) {
      return {};
    }
    Condition c;
    c.operands.push_back(std::move(lhs));
    const Token& t = peek();
    if (is_comparator(t.type)) {
      static constexpr std::pair<Tok, CompareOp> kOps[] = {{Tok::kEq, CompareOp::kEq}, {Tok::kNe, CompareOp::kNe},
                                                           {Tok::kLt, CompareOp::kLt}, {Tok::kLe, CompareOp::kLe},
                                                           {Tok::kGt, CompareOp::kGt}, {Tok::kGe, CompareOp::kGe}};
      for (const auto& [tok, op] : kOps) {
        if (tok == t.type) {
          c.op = op;
        }
      }
      advance();
      c.kind = CondKind::kCompare;
      c.operands.push_back(parse_condition_operand());
      if (failed_) {
        return c;
      }
      if (c.op != CompareOp::kEq && c.op != CompareOp::kNe) {
        check_ordering_operand(compare_op_text(c.op), c.operands[0]);
        check_ordering_operand(compare_op_text(c.op), c.operands[1]);
      }
      check_distinct(compare_op_text(c.op), c.operands);
      return c;
    }
    if (accept_keyword("BETWEEN")) {
      c.kind = CondKind::kBetween;
      c.operands.push_back(parse_condition_operand());
      if (!failed_ && !accept_keyword("AND")) {
        syntax_error();
      }
      c.operands.push_back(parse_condition_operand());
      if (failed_) {
        return c;
      }
      check_distinct("BETWEEN", c.operands);
      const auto lo = static_type(c.operands[1]);
      const auto hi = static_type(c.operands[2]);
      if (c.operands[1].kind == OperandKind::kValue && c.operands[2].kind == OperandKind::kValue && lo && hi) {
        const Json& a = *c.operands[1].value;
        const Json& b = *c.operands[2].value;
        if (*lo != *hi) {
          error(kFunction, "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: "
                           "AttributeValue: " + shown_value(a) + ", upper bound operand: AttributeValue: " +
                               shown_value(b));
        } else if (auto cmp = compare_values(a, b); cmp && *cmp > 0) {
          error(kFunction, "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
                           "lower bound operand: AttributeValue: " + shown_value(a) +
                               ", upper bound operand: AttributeValue: " + shown_value(b));
        }
      }
      return c;
    }
    if (accept_keyword("IN")) {
      c.kind = CondKind::kIn;
      expect(Tok::kLParen);
      if (failed_) {
        return c;
      }
      do {
        c.operands.push_back(parse_condition_operand());
      } while (!failed_ && accept(Tok::kComma));
      expect(Tok::kRParen);
      if (!failed_) {
        check_distinct("IN", c.operands);
      }
      return c;
    }
    syntax_error();
    return c;
  }

  Condition call_to_condition(Call&& call) {
    Condition c;
    c.operands = std::move(call.args);
    if (!check_known_condition_function(call.name)) {
      return c;
    }
    if (call.name == "size") {
      error(kMisusedFunction, "The function is not allowed to be used this way in an expression; function: size");
      return c;
    }
    Call view{call.name, {}};
    view.args.resize(c.operands.size());
    const size_t want = call.name == "attribute_exists" || call.name == "attribute_not_exists" ? 1 : 2;
    if (!check_operand_count(view, want)) {
      return c;
    }
    for (const Operand& o : c.operands) {
      if (o.kind != OperandKind::kPath && o.kind != OperandKind::kValue && o.kind != OperandKind::kSize) {
        error(kMisusedFunction, "The function is not allowed to be used this way in an expression; function: " + call.name);
      }
    }
    if (call.name == "attribute_exists" || call.name == "attribute_not_exists") {
      c.kind = call.name == "attribute_exists" ? CondKind::kExists : CondKind::kNotExists;
      if (c.operands[0].kind != OperandKind::kPath) {
        error(kFunction, "Operator or function requires a document path; operator or function: " + call.name);
      }
      return c;
    }
    check_distinct(call.name, c.operands);
    if (call.name == "attribute_type") {
      c.kind = CondKind::kType;
      if (c.operands[0].kind != OperandKind::kPath) {
        error(kFunction, "Operator or function requires a document path; operator or function: attribute_type");
      }
      const auto t = static_type(c.operands[1]);
      if (t != Type::kS) {
        error(kFunction, "Incorrect operand type for operator or function; operator or function: attribute_type, "
                         "operand type: " + (t ? std::string(type_name(*t)) : std::string("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}")));
      } else if (c.operands[1].kind == OperandKind::kValue &&
                 type_from_name(payload(*c.operands[1].value).get<std::string>()) == Type::kInvalid) {
        error(kFunction, "Invalid attribute type name found; type: " + payload(*c.operands[1].value).get<std::string>() +
                             ", valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}");
      }
      return c;
    }
    if (call.name == "begins_with") {
      c.kind = CondKind::kBeginsWith;
      for (const Operand& o : c.operands) {
        if (auto t = static_type(o); t && *t != Type::kS && *t != Type::kB) {
          error(kFunction, "Incorrect operand type for operator or function; operator or function: begins_with, "
                           "operand type: " + std::string(type_name(*t)));
        }
      }
      return c;
    }
    c.kind = CondKind::kContains;
    return c;
  }

  // ---- updates ------------------------------------------------------------------------------

  Operand parse_update_operand() {
    const Token& t = peek();
    if (t.type == Tok::kIdent && peek(1).type == Tok::kLParen) {
      Call c = parse_call();
      Operand o;
      o.args = std::move(c.args);
      if (c.name == "if_not_exists") {
        o.kind = OperandKind::kIfNotExists;
        if (check_operand_count(c_view(c.name, o.args), 2)) {
          if (o.args[0].kind != OperandKind::kPath) {
            error(kFunction, "Operator or function requires a document path; operator or function: if_not_exists");
          }
        }
      } else if (c.name == "list_append") {
        o.kind = OperandKind::kListAppend;
        if (check_operand_count(c_view(c.name, o.args), 2)) {
          for (const Operand& a : o.args) {
            if (a.kind == OperandKind::kValue && type_of(*a.value) != Type::kL) {
              error(kFunction, "Incorrect operand type for operator or function; operator or function: list_append, "
                               "operand type: " + std::string(type_name(type_of(*a.value))));
            }
          }
        }
      } else {
        error(kUnknownFunction, "Invalid function name; function: " + c.name);
        o.kind = OperandKind::kListAppend;
      }
      return o;
    }
    if (t.type == Tok::kValue) {
      return value_operand(advance());
    }
    return Operand::of_path(parse_path());
  }

  static Call c_view(const std::string& name, const std::vector<Operand>& args) {
    Call c{name, {}};
    c.args.resize(args.size());
    return c;
  }

  Operand parse_set_value() {
    Operand a = parse_update_operand();
    if (failed_) {
      return a;
    }
    const Tok t = peek().type;
    if (t != Tok::kPlus && t != Tok::kMinus) {
      return a;
    }
    advance();
    Operand o;
    o.kind = t == Tok::kPlus ? OperandKind::kPlus : OperandKind::kMinus;
    o.args.push_back(std::move(a));
    o.args.push_back(parse_update_operand());
    for (const Operand& arg : o.args) {
      if (arg.kind == OperandKind::kValue && type_of(*arg.value) != Type::kN) {
        error(kFunction, std::string("Incorrect operand type for operator or function; operator or function: ") +
                             (t == Tok::kPlus ? "+" : "-") + ", operand type: " +
                             std::string(type_name(type_of(*arg.value))));
      }
    }
    return o;
  }

  void check_add_delete_operand(ActionKind kind, const Operand& o) {
    const Type t = type_of(*o.value);
    const bool set = t == Type::kSS || t == Type::kNS || t == Type::kBS;
    if (set || (kind == ActionKind::kAdd && t == Type::kN)) {
      return;
    }
    error(kOperand, std::string("Incorrect operand type for operator or function; operator: ") +
                        (kind == ActionKind::kAdd ? "ADD" : "DELETE") + ", operand type: " + type_word(t));
  }

  // Paths of one update or projection may neither repeat, nor contain one another, nor disagree on
  // whether a step is a map key or a list index.
  void check_path(const Path& p) {
    for (const Path& other : paths_) {
      size_t i = 0;
      bool diverged = false;
      for (; i < other.size() && i < p.size(); ++i) {
        if (other[i].is_index() != p[i].is_index()) {
          error(kPathConflict, "Two document paths conflict with each other; must remove or rewrite one of these paths; "
                               "path one: " + path_to_string(other) + ", path two: " + path_to_string(p));
          diverged = true;
          break;
        }
        if (!(other[i] == p[i])) {
          diverged = true;
          break;
        }
      }
      if (!diverged) {
        error(kPathOverlap, "Two document paths overlap with each other; must remove or rewrite one of these paths; "
                            "path one: " + path_to_string(other) + ", path two: " + path_to_string(p));
      }
    }
    paths_.push_back(p);
  }

  std::string_view text_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  Binder& binder_;
  Mode mode_;
  bool failed_ = false;
  int nesting_ = 0;
  bool just_closed_paren_ = false;
  std::string syntax_;
  std::array<std::optional<std::string>, kErrCount> errors_;
  std::vector<Path> paths_;
};

// ---- evaluation ----------------------------------------------------------------------------

// An operand's value: a pointer into the item or the request, or a computed value held here.
struct Val {
  const Json* p = nullptr;
  Json tmp;
  void set(Json v) {
    tmp = std::move(v);
    p = &tmp;
  }
};

size_t utf8_length(const std::string& s) { return s.size(); }

void eval_operand(const Operand& o, const Json& item, Val& out) {
  switch (o.kind) {
    case OperandKind::kPath: out.p = resolve_path(item, o.path); return;
    case OperandKind::kValue: out.p = o.value; return;
    case OperandKind::kSize: {
      if (o.args.size() != 1) {
        return;
      }
      Val v;
      eval_operand(o.args[0], item, v);
      if (v.p == nullptr) {
        return;
      }
      const Type t = type_of(*v.p);
      const Json& p = payload(*v.p);
      size_t n = 0;
      switch (t) {
        case Type::kS: n = utf8_length(p.get_ref<const std::string&>()); break;
        case Type::kB: n = decode_binary(p).size(); break;
        case Type::kSS:
        case Type::kNS:
        case Type::kBS:
        case Type::kL:
        case Type::kM: n = p.size(); break;
        default: return;
      }
      out.set(Json{{"N", std::to_string(n)}});
      return;
    }
    default: return;
  }
}

bool starts_with_bytes(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool eval_contains(const Json& haystack, const Json& needle) {
  const Type ht = type_of(haystack);
  const Type nt = type_of(needle);
  const Json& hp = payload(haystack);
  const Json& np = payload(needle);
  switch (ht) {
    case Type::kS:
      return nt == Type::kS && hp.get_ref<const std::string&>().find(np.get_ref<const std::string&>()) != std::string::npos;
    case Type::kB:
      return nt == Type::kB && decode_binary(hp).find(decode_binary(np)) != std::string::npos;
    case Type::kSS:
    case Type::kNS:
    case Type::kBS: {
      const Type element = ht == Type::kSS ? Type::kS : ht == Type::kNS ? Type::kN : Type::kB;
      if (nt != element) {
        return false;
      }
      return std::find(hp.begin(), hp.end(), np) != hp.end();
    }
    case Type::kL:
      for (const Json& v : hp) {
        if (values_equal(v, needle)) {
          return true;
        }
      }
      return false;
    default: return false;
  }
}

// ---- updates -------------------------------------------------------------------------------

constexpr const char* kBadOperand = "An operand in the update expression has an incorrect data type";
constexpr const char* kMissingAttribute = "The provided expression refers to an attribute that does not exist in the item";
constexpr const char* kInvalidPath = "The document path provided in the update expression is invalid for update";

std::optional<std::string> eval_update_value(const Operand& o, const Json& item, Json& out);

// Both arguments of a binary update function, which must be of type t.
std::optional<std::string> eval_pair(const Operand& o, const Json& item, Type t, Json& a, Json& b) {
  if (o.args.size() != 2) {
    return std::string(kBadOperand);
  }
  if (auto e = eval_update_value(o.args[0], item, a)) {
    return e;
  }
  if (auto e = eval_update_value(o.args[1], item, b)) {
    return e;
  }
  if (type_of(a) != t || type_of(b) != t) {
    return std::string(kBadOperand);
  }
  return std::nullopt;
}

std::optional<std::string> eval_update_value(const Operand& o, const Json& item, Json& out) {
  switch (o.kind) {
    case OperandKind::kPath: {
      const Json* p = resolve_path(item, o.path);
      if (p == nullptr) {
        return std::string(kMissingAttribute);
      }
      out = *p;
      return std::nullopt;
    }
    case OperandKind::kValue: out = *o.value; return std::nullopt;
    case OperandKind::kIfNotExists: {
      if (o.args.size() != 2) {
        return std::string(kBadOperand);
      }
      if (const Json* p = o.args[0].kind == OperandKind::kPath ? resolve_path(item, o.args[0].path) : nullptr) {
        out = *p;
        return std::nullopt;
      }
      return eval_update_value(o.args[1], item, out);
    }
    case OperandKind::kListAppend: {
      Json a;
      Json b;
      if (auto e = eval_pair(o, item, Type::kL, a, b)) {
        return e;
      }
      Json& list = payload(a);
      for (Json& v : payload(b)) {
        list.push_back(std::move(v));
      }
      out = std::move(a);
      return std::nullopt;
    }
    case OperandKind::kPlus:
    case OperandKind::kMinus: {
      Json a;
      Json b;
      if (auto e = eval_pair(o, item, Type::kN, a, b)) {
        return e;
      }
      auto da = Decimal::parse(payload(a).get_ref<const std::string&>(), nullptr);
      auto db = Decimal::parse(payload(b).get_ref<const std::string&>(), nullptr);
      if (!da || !db) {
        return std::string(kBadOperand);
      }
      std::string error;
      auto r = o.kind == OperandKind::kPlus ? storage::key::add(*da, *db, &error)
                                             : storage::key::subtract(*da, *db, &error);
      if (!r) {
        return error;
      }
      out = Json{{"N", r->to_string()}};
      return std::nullopt;
    }
    case OperandKind::kSize: return std::string(kBadOperand);
  }
  return std::string(kBadOperand);
}

// The attribute value at `path` for writing, with its parent container. For a top-level path
// the parent is the item itself. Returns false when an intermediate step is missing or of the
// wrong kind (`missing_parent` tells which).
struct Slot {
  Json* container = nullptr;  // the item object, an M payload or an L payload
  Json* target = nullptr;     // the existing value at the path, or nullptr
};

bool locate(Json& item, const Path& path, Slot& slot, bool* missing_parent) {
  *missing_parent = false;
  Json* container = &item;
  for (size_t i = 0; i < path.size(); ++i) {
    const PathElement& e = path[i];
    Json* found = nullptr;
    if (e.is_index()) {
      if (!container->is_array()) {
        return false;
      }
      if (static_cast<size_t>(e.index) < container->size()) {
        found = &(*container)[static_cast<size_t>(e.index)];
      }
    } else {
      if (!container->is_object()) {
        return false;
      }
      auto it = container->find(e.name);
      if (it != container->end()) {
        found = &*it;
      }
    }
    if (i + 1 == path.size()) {
      slot.container = container;
      slot.target = found;
      return true;
    }
    if (found == nullptr) {
      *missing_parent = true;
      return false;
    }
    const Type t = type_of(*found);
    const bool next_is_index = path[i + 1].is_index();
    if ((next_is_index && t != Type::kL) || (!next_is_index && t != Type::kM)) {
      return false;
    }
    container = &payload(*found);
  }
  return false;
}

std::optional<std::string> set_at(Json& item, const Path& path, Json value) {
  Slot slot;
  bool missing_parent = false;
  if (!locate(item, path, slot, &missing_parent)) {
    return std::string(kInvalidPath);
  }
  if (slot.target != nullptr) {
    *slot.target = std::move(value);
  } else if (path.back().is_index()) {
    slot.container->push_back(std::move(value));
  } else {
    (*slot.container)[path.back().name] = std::move(value);
  }
  return std::nullopt;
}

std::optional<std::string> add_at(Json& item, const Path& path, const Json& value) {
  Slot slot;
  bool missing_parent = false;
  if (!locate(item, path, slot, &missing_parent)) {
    return std::string(kInvalidPath);
  }
  if (slot.target == nullptr) {
    return set_at(item, path, value);
  }
  const Type have = type_of(*slot.target);
  const Type give = type_of(value);
  if (have != give) {
    return std::string(kBadOperand);
  }
  if (have == Type::kN) {
    auto a = Decimal::parse(payload(*slot.target).get_ref<const std::string&>(), nullptr);
    auto b = Decimal::parse(payload(value).get_ref<const std::string&>(), nullptr);
    if (!a || !b) {
      return std::string(kBadOperand);
    }
    std::string error;
    auto sum = storage::key::add(*a, *b, &error);
    if (!sum) {
      return error;
    }
    payload(*slot.target) = sum->to_string();
    return std::nullopt;
  }
  if (have != Type::kSS && have != Type::kNS && have != Type::kBS) {
    return std::string(kBadOperand);
  }
  Json& members = payload(*slot.target);
  for (const Json& m : payload(value)) {
    if (std::find(members.begin(), members.end(), m) == members.end()) {
      members.push_back(m);
    }
  }
  return std::nullopt;
}

std::optional<std::string> delete_at(Json& item, const Path& path, const Json& value) {
  Slot slot;
  bool missing_parent = false;
  if (!locate(item, path, slot, &missing_parent)) {
    return missing_parent ? std::nullopt : std::optional<std::string>(kInvalidPath);
  }
  if (slot.target == nullptr) {
    return std::nullopt;
  }
  const Type have = type_of(*slot.target);
  if (have != type_of(value) || (have != Type::kSS && have != Type::kNS && have != Type::kBS)) {
    return std::string(kBadOperand);
  }
  Json& members = payload(*slot.target);
  Json kept = Json::array();
  for (Json& m : members) {
    const Json& drop = payload(value);
    if (std::find(drop.begin(), drop.end(), m) == drop.end()) {
      kept.push_back(std::move(m));
    }
  }
  if (!kept.empty()) {
    members = std::move(kept);
    return std::nullopt;
  }
  if (path.back().is_index()) {
    slot.container->erase(static_cast<size_t>(path.back().index));
  } else {
    slot.container->erase(path.back().name);
  }
  return std::nullopt;
}

std::optional<std::string> remove_at(Json& item, const Path& path) {
  Slot slot;
  bool missing_parent = false;
  if (!locate(item, path, slot, &missing_parent)) {
    return missing_parent ? std::nullopt : std::optional<std::string>(kInvalidPath);
  }
  if (slot.target == nullptr) {
    return std::nullopt;
  }
  if (path.back().is_index()) {
    slot.container->erase(static_cast<size_t>(path.back().index));
  } else {
    slot.container->erase(path.back().name);
  }
  return std::nullopt;
}

// ---- projection ----------------------------------------------------------------------------

// A node's children are a struct of their own rather than std::pair<PathElement, ProjectionNode>:
// clang 14 (the fuzz build) rejects that pair of a type still incomplete where it is declared.
struct ProjectionChild;

struct ProjectionNode {
  bool whole = false;
  std::vector<ProjectionChild> children;

  ProjectionNode& child(const PathElement& e);
};

struct ProjectionChild {
  PathElement first;
  ProjectionNode second;
};

ProjectionNode& ProjectionNode::child(const PathElement& e) {
  for (auto& [k, v] : children) {
    if (k == e) {
      return v;
    }
  }
  children.push_back(ProjectionChild{e, ProjectionNode{}});
  return children.back().second;
}

std::optional<Json> project_value(const Json& av, const ProjectionNode& node) {
  if (node.whole) {
    return av;
  }
  const Type t = type_of(av);
  if (t == Type::kM) {
    Json out = Json::object();
    const Json& map = payload(av);
    for (const auto& [e, child] : node.children) {
      if (e.is_index()) {
        continue;
      }
      auto it = map.find(e.name);
      if (it == map.end()) {
        continue;
      }
      if (auto v = project_value(*it, child)) {
        out[e.name] = std::move(*v);
      }
    }
    if (out.empty()) {
      return std::nullopt;
    }
    return Json{{"M", std::move(out)}};
  }
  if (t == Type::kL) {
    std::vector<std::pair<int64_t, const ProjectionNode*>> picks;
    for (const auto& [e, child] : node.children) {
      if (e.is_index()) {
        picks.emplace_back(e.index, &child);
      }
    }
    std::sort(picks.begin(), picks.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Json out = Json::array();
    const Json& list = payload(av);
    for (const auto& [i, child] : picks) {
      if (static_cast<size_t>(i) < list.size()) {
        if (auto v = project_value(list[static_cast<size_t>(i)], *child)) {
          out.push_back(std::move(*v));
        }
      }
    }
    if (out.empty()) {
      return std::nullopt;
    }
    return Json{{"L", std::move(out)}};
  }
  return std::nullopt;
}

}  // namespace

// ---- public API ----------------------------------------------------------------------------

std::string path_to_string(const Path& p) {
  std::string out = "[";
  for (size_t i = 0; i < p.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += p[i].is_index() ? "[" + std::to_string(p[i].index) + "]" : p[i].name;
  }
  return out + "]";
}

Operand Operand::of_path(Path p) {
  Operand o;
  o.kind = OperandKind::kPath;
  o.path = std::move(p);
  return o;
}

Operand Operand::of_value(const Json* v) {
  Operand o;
  o.kind = OperandKind::kValue;
  o.value = v;
  return o;
}

Operand Operand::of_owned(Json v) {
  Operand o;
  o.kind = OperandKind::kValue;
  o.owned = std::make_shared<const Json>(std::move(v));
  o.value = o.owned.get();
  return o;
}

std::string_view compare_op_text(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "<>";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
  }
  return "=";
}

const std::string* Binder::name(std::string_view placeholder) {
  if (names_ == nullptr || !names_->is_object()) {
    return nullptr;
  }
  auto it = names_->find(placeholder);
  if (it == names_->end() || !it->is_string()) {
    return nullptr;
  }
  used_names_.emplace(placeholder);
  return &it->get_ref<const std::string&>();
}

const Json* Binder::value(std::string_view placeholder) {
  if (values_ == nullptr || !values_->is_object()) {
    return nullptr;
  }
  auto it = values_->find(placeholder);
  if (it == values_->end()) {
    return nullptr;
  }
  used_values_.emplace(placeholder);
  return &*it;
}

std::optional<std::string> Binder::unused() const {
  auto list = [](const Json& map, const std::set<std::string, std::less<>>& used) {
    std::string keys;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (used.count(it.key()) == 0) {
        keys += (keys.empty() ? "" : ", ") + it.key();
      }
    }
    return keys;
  };
  if (names_ != nullptr && names_->is_object()) {
    if (std::string keys = list(*names_, used_names_); !keys.empty()) {
      return "Value provided in ExpressionAttributeNames unused in expressions: keys: {" + keys + "}";
    }
  }
  if (values_ != nullptr && values_->is_object()) {
    if (std::string keys = list(*values_, used_values_); !keys.empty()) {
      return "Value provided in ExpressionAttributeValues unused in expressions: keys: {" + keys + "}";
    }
  }
  return std::nullopt;
}

Parsed<Condition> parse_condition(std::string_view text, Binder& binder) {
  return Parser(text, binder, Mode::kCondition).condition();
}

Parsed<Update> parse_update(std::string_view text, Binder& binder) {
  return Parser(text, binder, Mode::kUpdate).update();
}

Parsed<std::vector<Path>> parse_projection(std::string_view text, Binder& binder) {
  return Parser(text, binder, Mode::kProjection).projection();
}

const Json* resolve_path(const Json& item, const Path& path) {
  if (path.empty() || path[0].is_index() || !item.is_object()) {
    return nullptr;
  }
  auto it = item.find(path[0].name);
  if (it == item.end()) {
    return nullptr;
  }
  const Json* cur = &*it;
  for (size_t i = 1; i < path.size(); ++i) {
    const Type t = type_of(*cur);
    const Json& p = payload(*cur);
    if (path[i].is_index()) {
      if (t != Type::kL || static_cast<size_t>(path[i].index) >= p.size()) {
        return nullptr;
      }
      cur = &p[static_cast<size_t>(path[i].index)];
    } else {
      if (t != Type::kM) {
        return nullptr;
      }
      auto child = p.find(path[i].name);
      if (child == p.end()) {
        return nullptr;
      }
      cur = &*child;
    }
  }
  return cur;
}

bool evaluate(const Condition& c, const Json& item) {
  switch (c.kind) {
    case CondKind::kTrue: return true;
    case CondKind::kAnd: return evaluate(c.children[0], item) && evaluate(c.children[1], item);
    case CondKind::kOr: return evaluate(c.children[0], item) || evaluate(c.children[1], item);
    case CondKind::kNot: return !evaluate(c.children[0], item);
    case CondKind::kCompare: {
      Val a;
      Val b;
      eval_operand(c.operands[0], item, a);
      eval_operand(c.operands[1], item, b);
      if (c.op == CompareOp::kEq) {
        return a.p != nullptr && b.p != nullptr && values_equal(*a.p, *b.p);
      }
      if (c.op == CompareOp::kNe) {
        return a.p == nullptr || b.p == nullptr || !values_equal(*a.p, *b.p);
      }
      if (a.p == nullptr || b.p == nullptr) {
        return false;
      }
      auto cmp = compare_values(*a.p, *b.p);
      if (!cmp) {
        return false;
      }
      switch (c.op) {
        case CompareOp::kLt: return *cmp < 0;
        case CompareOp::kLe: return *cmp <= 0;
        case CompareOp::kGt: return *cmp > 0;
        case CompareOp::kGe: return *cmp >= 0;
        default: return false;
      }
    }
    case CondKind::kBetween: {
      Val v;
      Val lo;
      Val hi;
      eval_operand(c.operands[0], item, v);
      eval_operand(c.operands[1], item, lo);
      eval_operand(c.operands[2], item, hi);
      if (v.p == nullptr || lo.p == nullptr || hi.p == nullptr) {
        return false;
      }
      auto a = compare_values(*v.p, *lo.p);
      auto b = compare_values(*v.p, *hi.p);
      return a && b && *a >= 0 && *b <= 0;
    }
    case CondKind::kIn: {
      Val v;
      eval_operand(c.operands[0], item, v);
      if (v.p == nullptr) {
        return false;
      }
      for (size_t i = 1; i < c.operands.size(); ++i) {
        Val w;
        eval_operand(c.operands[i], item, w);
        if (w.p != nullptr && values_equal(*v.p, *w.p)) {
          return true;
        }
      }
      return false;
    }
    case CondKind::kExists:
    case CondKind::kNotExists: {
      Val v;
      eval_operand(c.operands[0], item, v);
      return (v.p != nullptr) == (c.kind == CondKind::kExists);
    }
    case CondKind::kType: {
      Val v;
      Val t;
      eval_operand(c.operands[0], item, v);
      eval_operand(c.operands[1], item, t);
      if (v.p == nullptr || t.p == nullptr || type_of(*t.p) != Type::kS) {
        return false;
      }
      return type_name(type_of(*v.p)) == payload(*t.p).get_ref<const std::string&>();
    }
    case CondKind::kBeginsWith: {
      Val v;
      Val prefix;
      eval_operand(c.operands[0], item, v);
      eval_operand(c.operands[1], item, prefix);
      if (v.p == nullptr || prefix.p == nullptr) {
        return false;
      }
      const Type t = type_of(*v.p);
      if (t != type_of(*prefix.p)) {
        return false;
      }
      if (t == Type::kS) {
        return starts_with_bytes(payload(*v.p).get_ref<const std::string&>(),
                                 payload(*prefix.p).get_ref<const std::string&>());
      }
      if (t == Type::kB) {
        return starts_with_bytes(decode_binary(payload(*v.p)), decode_binary(payload(*prefix.p)));
      }
      return false;
    }
    case CondKind::kContains: {
      Val v;
      Val needle;
      eval_operand(c.operands[0], item, v);
      eval_operand(c.operands[1], item, needle);
      return v.p != nullptr && needle.p != nullptr && eval_contains(*v.p, *needle.p);
    }
  }
  return false;
}

std::optional<std::string> apply_update(const Update& update, Json& item) {
  // Every value is computed from the item as it was before the update.
  std::vector<Json> values(update.actions.size());
  for (size_t i = 0; i < update.actions.size(); ++i) {
    const UpdateAction& a = update.actions[i];
    if (a.kind == ActionKind::kSet) {
      if (auto e = eval_update_value(a.value, item, values[i])) {
        return e;
      }
    }
  }
  std::vector<const Path*> removals;
  for (size_t i = 0; i < update.actions.size(); ++i) {
    const UpdateAction& a = update.actions[i];
    std::optional<std::string> e;
    switch (a.kind) {
      case ActionKind::kSet: e = set_at(item, a.path, std::move(values[i])); break;
      case ActionKind::kAdd: e = add_at(item, a.path, *a.value.value); break;
      case ActionKind::kDelete: e = delete_at(item, a.path, *a.value.value); break;
      case ActionKind::kRemove: removals.push_back(&a.path); break;
    }
    if (e) {
      return e;
    }
  }
  // List elements go from the highest index down, so that each index means what it meant in
  // the original item.
  std::sort(removals.begin(), removals.end(), [](const Path* a, const Path* b) {
    const size_t n = std::min(a->size(), b->size());
    for (size_t i = 0; i < n; ++i) {
      const PathElement& x = (*a)[i];
      const PathElement& y = (*b)[i];
      if (x.is_index() != y.is_index()) {
        return x.is_index();
      }
      if (x.is_index() && x.index != y.index) {
        return x.index > y.index;
      }
      if (!x.is_index() && x.name != y.name) {
        return x.name < y.name;
      }
    }
    return a->size() < b->size();
  });
  for (const Path* p : removals) {
    if (auto e = remove_at(item, *p)) {
      return e;
    }
  }
  return std::nullopt;
}

Json project(const Json& item, const std::vector<Path>& paths) {
  ProjectionNode root;
  for (const Path& p : paths) {
    ProjectionNode* node = &root;
    for (const PathElement& e : p) {
      node = &node->child(e);
    }
    node->whole = true;
  }
  Json out = Json::object();
  for (const auto& [e, child] : root.children) {
    auto it = item.find(e.name);
    if (it == item.end()) {
      continue;
    }
    if (auto v = project_value(*it, child)) {
      out[e.name] = std::move(*v);
    }
  }
  return out;
}

std::set<std::string> path_heads(const Update& update) {
  std::set<std::string> heads;
  for (const UpdateAction& a : update.actions) {
    if (!a.path.empty()) {
      heads.insert(a.path[0].name);
    }
  }
  return heads;
}

}  // namespace sless::services::dynamodb::expr
