// The PartiQL tokenizer and recursive-descent parser (see partiql.h). Grammar accepted:
//
//   statement := (select | insert | update | delete | exists) [';']
//   select    := SELECT ('*' | path (',' path)*) FROM name ['.' name] [WHERE cond]
//                [ORDER BY path [ASC|DESC] (',' path [ASC|DESC])*]
//   insert    := INSERT INTO name VALUE tuple
//   update    := UPDATE name (SET path '=' term (',' path '=' term)* | REMOVE path (',' path)*)+
//                WHERE cond [RETURNING (ALL|MODIFIED) (OLD|NEW) '*']
//   delete    := DELETE FROM name WHERE cond [RETURNING ALL OLD '*']
//   exists    := EXISTS '(' select ')'
//   cond      := and (OR and)* ;  and := not (AND not)* ;  not := NOT not | predicate
//   predicate := '(' cond ')' | function '(' args ')' | term [cmp term | [NOT] BETWEEN term AND term
//                | [NOT] IN ('[' | '(') term, ... (']' | ')') | IS [NOT] (MISSING | NULL)]
//   term      := primary (('+' | '-') primary)* ;  primary := literal | '?' | path | function call
//   path      := name ('.' name | '[' integer ']' | '[' string ']')*
//   literal   := 'string' | number | TRUE | FALSE | NULL | '[' ... ']' | '{' 'k' ':' v, ... '}' | '<<' ... '>>'
#include <cctype>
#include <set>

#include "services/dynamodb/partiql.h"

namespace sless::services::dynamodb::partiql {

namespace {

enum class Tok { kEnd, kWord, kQuoted, kString, kNumber, kPunct, kParam, kBad };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;  // words upper-cased in `upper`; quoted names and strings unescaped
  std::string upper;
  size_t pos = 0;
};

// Splits the text into tokens; a token of type kBad ends the list (unterminated string,
// quoted name or comment, or a character outside the language).
std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto push = [&](Tok t, std::string text, size_t pos) {
    Token tok;
    tok.type = t;
    tok.pos = pos;
    if (t == Tok::kWord) {
      tok.upper = text;
      for (char& c : tok.upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
    }
    tok.text = std::move(text);
    out.push_back(std::move(tok));
  };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n') {
        ++i;
      }
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      const size_t end = s.find("*/", i + 2);
      if (end == std::string_view::npos) {
        push(Tok::kBad, "", i);
        return out;
      }
      i = end + 2;
      continue;
    }
    const size_t start = i;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == '$')) {
        ++i;
      }
      push(Tok::kWord, std::string(s.substr(start, i - start)), start);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        ++i;
      }
      if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
          ++i;
        }
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) {
          ++j;
        }
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
            ++j;
          }
          i = j;
        }
      }
      push(Tok::kNumber, std::string(s.substr(start, i - start)), start);
      continue;
    }
    if (c == '\'' || c == '"') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {
            text += c;
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        text += s[i++];
      }
      if (!closed) {
        push(Tok::kBad, "", start);
        return out;
      }
      push(c == '\'' ? Tok::kString : Tok::kQuoted, std::move(text), start);
      continue;
    }
    static constexpr std::string_view kTwo[] = {"<>", "!=", "<=", ">=", "<<", ">>"};
    bool two = false;
    for (std::string_view op : kTwo) {
      if (s.substr(i, 2) == op) {
        push(Tok::kPunct, std::string(op), start);
        i += 2;
        two = true;
        break;
      }
    }
    if (two) {
      continue;
    }
    if (std::string_view("()[]{},.:;*+-=<>").find(c) != std::string_view::npos) {
      push(Tok::kPunct, std::string(1, c), start);
      ++i;
      continue;
    }
    if (c == '?') {
      push(Tok::kParam, "?", start);
      ++i;
      continue;
    }
    push(Tok::kBad, "", start);
    return out;
  }
  push(Tok::kEnd, "", s.size());
  return out;
}

// Words that cannot be bare attribute or table names.
bool is_keyword(const std::string& upper) {
  static const std::set<std::string, std::less<>> kKeywords = {
      "SELECT", "FROM", "WHERE", "INSERT", "INTO", "VALUE", "VALUES", "UPDATE", "SET", "REMOVE", "DELETE",
      "RETURNING", "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "MISSING", "NULL", "TRUE", "FALSE", "ORDER",
      "BY", "ASC", "DESC", "EXISTS", "AS", "LIMIT", "GROUP", "HAVING", "JOIN", "UNION", "CASE", "WHEN",
      "THEN", "ELSE", "END", "LIKE", "DISTINCT", "OFFSET", "UPSERT", "REPLACE", "CREATE", "DROP", "ALTER"};
  return kKeywords.count(upper) > 0;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const Json* params) : toks_(std::move(tokens)), params_(params) {}

  Parsed run() {
    Statement st;
    if (!statement(st)) {
      return error_;
    }
    accept_punct(";");
    if (!failed() && peek().type != Tok::kEnd) {
      malformed("Unexpected token after expression");
    }
    if (failed()) {
      return error_;
    }
    return st;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    const size_t at = std::min(pos_ + ahead, toks_.size() - 1);
    return toks_[at];
  }
  const Token& next() {
    const Token& t = peek();
    if (pos_ + 1 < toks_.size()) {
      ++pos_;
    }
    return t;
  }
  bool failed() const { return !error_.empty(); }
  bool fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
    return false;
  }
  bool malformed(const char* detail) {
    if (peek().type == Tok::kBad) {
      return fail(std::string(kMalformed));
    }
    return fail(std::string(kMalformed) + detail);
  }
  bool is_word(const char* w, size_t ahead = 0) const {
    return peek(ahead).type == Tok::kWord && peek(ahead).upper == w;
  }
  bool is_punct(const char* p, size_t ahead = 0) const {
    return peek(ahead).type == Tok::kPunct && peek(ahead).text == p;
  }
  bool accept_word(const char* w) {
    if (is_word(w)) {
      next();
      return true;
    }
    return false;
  }
  bool accept_punct(const char* p) {
    if (is_punct(p)) {
      next();
      return true;
    }
    return false;
  }
  bool expect_word(const char* w) {
    if (accept_word(w)) {
      return true;
    }
    return malformed(peek().type == Tok::kWord && is_keyword(peek().upper) ? "Unexpected keyword"
                                                                             : "Unexpected token");
  }
  bool expect_punct(const char* p) {
    if (accept_punct(p)) {
      return true;
    }
    return malformed(peek().type == Tok::kEnd ? "Unexpected end of statement" : "Unexpected token");
  }

  // A table, attribute or index name: a bare word that is no keyword, or a quoted name.
  bool name(std::string& out) {
    const Token& t = peek();
    if (t.type == Tok::kQuoted || (t.type == Tok::kWord && !is_keyword(t.upper))) {
      out = t.text;
      next();
      return true;
    }
    return malformed("Expected identifier for simple path");
  }

  bool statement(Statement& st) {
    if (is_word("SELECT")) {
      return select(st);
    }
    if (accept_word("INSERT")) {
      return insert(st);
    }
    if (accept_word("UPDATE")) {
      return update(st);
    }
    if (accept_word("DELETE")) {
      return remove(st);
    }
    if (accept_word("EXISTS")) {
      if (!expect_punct("(") || !is_word("SELECT")) {
        return failed() ? false : malformed("Expected SELECT");
      }
      if (!select(st)) {
        return false;
      }
      st.kind = Statement::Kind::kExists;
      return expect_punct(")");
    }
    return malformed("Expected data manipulation");
  }

  bool no_alias() {
    if (is_word("AS") || (peek().type == Tok::kWord && !is_keyword(peek().upper)) || peek().type == Tok::kQuoted) {
      return fail("Aliasing is not supported");
    }
    return true;
  }

  bool select(Statement& st) {
    next();  // SELECT
    st.kind = Statement::Kind::kSelect;
    if (accept_punct("*")) {
      st.select_all = true;
    } else {
      do {
        if (peek().type == Tok::kEnd || is_word("FROM")) {
          return malformed("Unexpected term");
        }
        expr::Path p;
        if (!path(p)) {
          return false;
        }
        if (is_punct("(")) {
          return fail("Unsupported operation: function call in projection");
        }
        if (is_word("AS")) {
          return fail("Aliasing is not supported");
        }
        st.projection.push_back(std::move(p));
      } while (accept_punct(","));
    }
    if (!expect_word("FROM")) {
      return false;
    }
    if (peek().type == Tok::kEnd || peek().type == Tok::kPunct) {
      return malformed("Unexpected term");
    }
    if (!name(st.table)) {
      return false;
    }
    if (accept_punct(".") && !name(st.index)) {
      return false;
    }
    if (!no_alias()) {
      return false;
    }
    if (accept_word("WHERE")) {
      Cond c;
      if (!condition(c)) {
        return false;
      }
      st.where = std::move(c);
    }
    if (accept_word("ORDER")) {
      if (!expect_word("BY")) {
        return false;
      }
      do {
        Statement::Order o;
        if (!path(o.path)) {
          return false;
        }
        if (accept_word("DESC")) {
          o.descending = true;
        } else {
          accept_word("ASC");
        }
        st.order_by.push_back(std::move(o));
      } while (accept_punct(","));
    }
    if (is_word("LIMIT")) {
      return fail("Unsupported clause: LIMIT");
    }
    return true;
  }

  bool insert(Statement& st) {
    st.kind = Statement::Kind::kInsert;
    if (!expect_word("INTO") || !name(st.table)) {
      return false;
    }
    if (!accept_word("VALUE")) {
      return malformed(is_word("VALUES") ? "Unsupported operation: VALUES" : "Unexpected token");
    }
    const size_t at = pos_;
    Json v;
    if (!literal(v, 0)) {
      return false;
    }
    if (type_of(v) != Type::kM) {
      pos_ = at;
      return malformed("Expected a tuple in VALUE");
    }
    st.item = std::move(v["M"]);
    return true;
  }

  bool update(Statement& st) {
    st.kind = Statement::Kind::kUpdate;
    if (!name(st.table) || !no_alias()) {
      return false;
    }
    while (true) {
      if (accept_word("SET")) {
        do {
          UpdateAction a;
          if (!path(a.path) || !expect_punct("=") || !term(a.value)) {
            return false;
          }
          st.actions.push_back(std::move(a));
        } while (accept_punct(","));
      } else if (accept_word("REMOVE")) {
        do {
          UpdateAction a;
          a.remove = true;
          if (!path(a.path)) {
            return false;
          }
          st.actions.push_back(std::move(a));
        } while (accept_punct(","));
      } else {
        break;
      }
    }
    if (st.actions.empty()) {
      return malformed(peek().type == Tok::kEnd ? "Unexpected end of statement" : "Expected SET or REMOVE");
    }
    if (!expect_word("WHERE")) {
      return false;
    }
    Cond c;
    if (!condition(c)) {
      return false;
    }
    st.where = std::move(c);
    return returning(st);
  }

  bool remove(Statement& st) {
    st.kind = Statement::Kind::kDelete;
    if (!expect_word("FROM")) {
      return false;
    }
    if (!name(st.table) || !no_alias()) {
      return false;
    }
    if (!expect_word("WHERE")) {
      return false;
    }
    Cond c;
    if (!condition(c)) {
      return false;
    }
    st.where = std::move(c);
    if (!returning(st)) {
      return false;
    }
    if (!st.returning.empty() && st.returning != "ALL_OLD") {
      return fail("Invalid returning clause: " + st.returning_text +
                  ". Only RETURNING ALL OLD * is allowed in DELETE statements.");
    }
    return true;
  }

  bool returning(Statement& st) {
    if (!accept_word("RETURNING")) {
      return true;
    }
    std::string which;
    if (accept_word("ALL")) {
      which = "ALL";
    } else if (accept_word("MODIFIED")) {
      which = "MODIFIED";
    } else {
      return malformed("Expected ALL or MODIFIED");
    }
    std::string age;
    if (accept_word("OLD")) {
      age = "OLD";
    } else if (accept_word("NEW")) {
      age = "NEW";
    } else {
      return malformed("Expected OLD or NEW");
    }
    if (!expect_punct("*")) {
      return false;
    }
    st.returning = (which == "ALL" ? "ALL_" : "UPDATED_") + age;
    st.returning_text = "RETURNING " + which + " " + age + " *";
    return true;
  }

  bool path(expr::Path& out) {
    std::string head;
    if (!name(head)) {
      return false;
    }
    out.push_back(expr::PathElement{std::move(head), -1});
    while (true) {
      if (is_punct(".") && (peek(1).type == Tok::kWord || peek(1).type == Tok::kQuoted)) {
        next();
        std::string part;
        if (!name(part)) {
          return false;
        }
        out.push_back(expr::PathElement{std::move(part), -1});
      } else if (accept_punct("[")) {
        const Token& t = next();
        if (t.type == Tok::kNumber && t.text.find_first_not_of("0123456789") == std::string::npos &&
            t.text.size() < 10) {
          out.push_back(expr::PathElement{"", std::stoll(t.text)});
        } else if (t.type == Tok::kString) {
          out.push_back(expr::PathElement{t.text, -1});
        } else {
          return malformed("Invalid path component");
        }
        if (!expect_punct("]")) {
          return false;
        }
      } else {
        return true;
      }
    }
  }

  // ---- conditions ----

  bool condition(Cond& out) { return infix(out, "OR", Cond::Kind::kOr, &Parser::conjunction); }
  bool conjunction(Cond& out) { return infix(out, "AND", Cond::Kind::kAnd, &Parser::negation); }

  // One level of a left-associative chain of `word`-separated operands.
  bool infix(Cond& out, const char* word, Cond::Kind kind, bool (Parser::*operand)(Cond&)) {
    if (!(this->*operand)(out)) {
      return false;
    }
    while (accept_word(word)) {
      Cond rhs;
      if (peek().type == Tok::kEnd || is_punct(";") || is_punct(")")) {
        return malformed("Missing right-hand side expression of infix operator");
      }
      if (!(this->*operand)(rhs)) {
        return false;
      }
      Cond both;
      both.kind = kind;
      both.children.push_back(std::move(out));
      both.children.push_back(std::move(rhs));
      out = std::move(both);
    }
    return true;
  }

  bool negation(Cond& out) {
    // Parentheses and NOT nest conditions; bound the recursion (the statement is up to 8 KB).
    if (++depth_ > kMaxConditionDepth) {
      return fail(std::string(kMalformed) + "Expression nesting is too deep");
    }
    const bool ok = negation_inner(out);
    --depth_;
    return ok;
  }

  bool negation_inner(Cond& out) {
    if (accept_word("NOT")) {
      Cond inner;
      if (!negation(inner)) {
        return false;
      }
      out.kind = Cond::Kind::kNot;
      out.children.push_back(std::move(inner));
      return true;
    }
    return predicate(out);
  }

  // The entry of a function table naming `word` (case-insensitive), or nullptr.
  template <class Kind, size_t N>
  static const std::pair<const char*, Kind>* lookup(const std::pair<const char*, Kind> (&table)[N],
                                                    std::string word) {
    for (char& c : word) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const auto& entry : table) {
      if (word == entry.first) {
        return &entry;
      }
    }
    return nullptr;
  }

  bool predicate(Cond& out) {
    const Token& t = peek();
    if (t.type == Tok::kEnd || is_punct(";") || is_word("ORDER") || is_word("RETURNING")) {
      return malformed(t.type == Tok::kWord ? "Unexpected keyword" : "Unexpected term");
    }
    if (accept_punct("(")) {
      if (peek().type == Tok::kEnd) {
        return malformed("Unexpected term");
      }
      if (!condition(out)) {
        return false;
      }
      return expect_punct(")");
    }
    if (t.type == Tok::kWord && is_punct("(", 1)) {
      static const std::pair<const char*, Cond::Kind> kFunctions[] = {
          {"begins_with", Cond::Kind::kBeginsWith},
          {"contains", Cond::Kind::kContains},
          {"attribute_type", Cond::Kind::kAttributeType},
          {"attribute_exists", Cond::Kind::kAttributeExists},
          {"attribute_not_exists", Cond::Kind::kAttributeNotExists},
      };
      if (const auto* f = lookup(kFunctions, t.text)) {
        next();
        next();
        out.kind = f->second;
        return arguments(out.operands) && check_function(out, f->first);
      }
    }
    if (t.type == Tok::kPunct && (t.text == "=" || t.text == "<" || t.text == ">" || t.text == "<>" ||
                                  t.text == "!=" || t.text == "<=" || t.text == ">=")) {
      return malformed("Unexpected operator");
    }
    if (t.type == Tok::kWord && (t.upper == "IS" || t.upper == "LIKE" || t.upper == "BETWEEN" || t.upper == "IN")) {
      return malformed("Unexpected operator");
    }
    Operand lhs;
    if (!term(lhs)) {
      return false;
    }
    static const std::pair<const char*, expr::CompareOp> kOps[] = {
        {"=", expr::CompareOp::kEq}, {"<>", expr::CompareOp::kNe}, {"!=", expr::CompareOp::kNe},
        {"<", expr::CompareOp::kLt}, {"<=", expr::CompareOp::kLe}, {">", expr::CompareOp::kGt},
        {">=", expr::CompareOp::kGe}};
    for (const auto& [text, op] : kOps) {
      if (accept_punct(text)) {
        Operand rhs;
        if (!operand_after_operator(rhs)) {
          return false;
        }
        out.kind = Cond::Kind::kCompare;
        out.op = op;
        out.operands.push_back(std::move(lhs));
        out.operands.push_back(std::move(rhs));
        return true;
      }
    }
    const bool negated = is_word("NOT") && (is_word("BETWEEN", 1) || is_word("IN", 1));
    if (negated) {
      next();
    }
    if (accept_word("BETWEEN")) {
      Operand lo;
      Operand hi;
      if (!operand_after_operator(lo) || !expect_word("AND") || !operand_after_operator(hi)) {
        return false;
      }
      out.kind = Cond::Kind::kBetween;
      out.operands = {std::move(lhs), std::move(lo), std::move(hi)};
      return wrap_not(out, negated);
    }
    if (accept_word("IN")) {
      const char* close = accept_punct("[") ? "]" : (accept_punct("(") ? ")" : nullptr);
      if (close == nullptr) {
        return malformed("Expected a collection after IN");
      }
      out.kind = Cond::Kind::kIn;
      out.operands.push_back(std::move(lhs));
      if (!is_punct(close)) {
        do {
          Operand v;
          if (!term(v)) {
            return false;
          }
          out.operands.push_back(std::move(v));
        } while (accept_punct(","));
      }
      if (!expect_punct(close)) {
        return false;
      }
      if (out.operands.size() < 2) {
        return fail("IN list must contain at least one value");
      }
      if (out.operands.size() > 101) {
        return fail("IN list must contain no more than 100 values");
      }
      return wrap_not(out, negated);
    }
    if (accept_word("IS")) {
      const bool is_not = accept_word("NOT");
      if (accept_word("MISSING")) {
        out.kind = is_not ? Cond::Kind::kNotMissing : Cond::Kind::kMissing;
      } else if (accept_word("NULL")) {
        out.kind = is_not ? Cond::Kind::kNotNull : Cond::Kind::kNull;
      } else {
        return malformed("Expected type name");
      }
      if (lhs.kind != Operand::Kind::kPath) {
        return fail("Unsupported operation: IS on a value");
      }
      out.operands.push_back(std::move(lhs));
      return true;
    }
    if (peek().type == Tok::kEnd) {
      return malformed("Unexpected end of statement");
    }
    return malformed("Unexpected token after expression");
  }

  bool operand_after_operator(Operand& out) {
    if (peek().type == Tok::kEnd || is_punct(";") || is_punct(")")) {
      return malformed("Missing right-hand side expression of infix operator");
    }
    if (peek().type == Tok::kPunct && !is_punct("(") && !is_punct("[") && !is_punct("{") && !is_punct("<<") &&
        !is_punct("-")) {
      return malformed("Unexpected operator");
    }
    if (peek().type == Tok::kWord && (is_word("LIKE") || is_word("IS") || is_word("AND") || is_word("OR"))) {
      return malformed("Unexpected operator");
    }
    return term(out);
  }

  static bool wrap_not(Cond& c, bool negated) {
    if (negated) {
      Cond n;
      n.kind = Cond::Kind::kNot;
      n.children.push_back(std::move(c));
      c = std::move(n);
    }
    return true;
  }

  bool arguments(std::vector<Operand>& out) {
    if (++depth_ > kMaxConditionDepth) {
      return fail(std::string(kMalformed) + "Expression nesting is too deep");
    }
    const bool ok = argument_list(out);
    --depth_;
    return ok;
  }

  bool argument_list(std::vector<Operand>& out) {
    if (!is_punct(")")) {
      do {
        Operand a;
        if (!term(a)) {
          return false;
        }
        out.push_back(std::move(a));
      } while (accept_punct(","));
    }
    return expect_punct(")");
  }

  bool check_function(const Cond& c, const char* name) {
    const size_t want = (c.kind == Cond::Kind::kAttributeExists || c.kind == Cond::Kind::kAttributeNotExists) ? 1 : 2;
    if (c.operands.size() != want) {
      return fail(std::string("Incorrect number of arguments for function ") + name);
    }
    if (c.operands[0].kind != Operand::Kind::kPath) {
      return fail(std::string("The first argument of ") + name + " must be an attribute path");
    }
    if (c.kind == Cond::Kind::kAttributeType) {
      const Json& v = c.operands[1].value;
      static const std::set<std::string, std::less<>> kTypes = {"N", "BS", "L", "B", "NULL", "M",
                                                                 "S", "SS", "NS", "BOOL"};
      const std::string t = (c.operands[1].kind == Operand::Kind::kValue && type_of(v) == Type::kS)
                                ? payload(v).get<std::string>()
                                : std::string();
      if (kTypes.count(t) == 0) {
        return fail("Invalid attribute type name found; type: " + t + ", valid types: {N,BS,L,B,NULL,M,S,SS,NS,BOOL}");
      }
    }
    return true;
  }

  // ---- terms and values ----

  bool term(Operand& out) {
    if (!primary(out)) {
      return false;
    }
    while (is_punct("+") || is_punct("-")) {
      const bool plus = next().text == "+";
      Operand rhs;
      if (peek().type == Tok::kEnd) {
        return malformed("Missing right-hand side expression of infix operator");
      }
      if (!primary(rhs)) {
        return false;
      }
      Operand sum;
      sum.kind = plus ? Operand::Kind::kAdd : Operand::Kind::kSub;
      sum.args.push_back(std::move(out));
      sum.args.push_back(std::move(rhs));
      out = std::move(sum);
    }
    return true;
  }

  bool primary(Operand& out) {
    const Token& t = peek();
    if (t.type == Tok::kWord && is_punct("(", 1)) {
      static const std::pair<const char*, Operand::Kind> kFunctions[] = {
          {"size", Operand::Kind::kSize},
          {"list_append", Operand::Kind::kListAppend},
          {"set_add", Operand::Kind::kSetAdd},
          {"set_delete", Operand::Kind::kSetDelete},
      };
      if (const auto* f = lookup(kFunctions, t.text)) {
        next();
        next();
        out.kind = f->second;
        if (!arguments(out.args)) {
          return false;
        }
        if (out.args.size() != (out.kind == Operand::Kind::kSize ? 1 : 2)) {
          return fail(std::string("Incorrect number of arguments for function ") + f->first);
        }
        if (out.kind == Operand::Kind::kSize && out.args[0].kind != Operand::Kind::kPath) {
          return fail("The argument of size must be an attribute path");
        }
        return true;
      }
      return fail("Unsupported function: " + t.text);
    }
    if (t.type == Tok::kQuoted || (t.type == Tok::kWord && !is_keyword(t.upper))) {
      out.kind = Operand::Kind::kPath;
      return path(out.path);
    }
    out.kind = Operand::Kind::kValue;
    return literal(out.value, 0);
  }

  // An attribute value: a literal, a parameter, or a collection of them.
  bool literal(Json& out, int depth) {
    if (depth > kMaxDepth) {
      return fail("Nesting Levels have exceeded supported limits");
    }
    const Token& t = peek();
    switch (t.type) {
      case Tok::kString:
        out = Json{{"S", t.text}};
        next();
        return true;
      case Tok::kNumber:
        return number(next().text, out);
      case Tok::kParam: {
        next();
        const size_t at = param_count_++;
        if (params_ == nullptr || !params_->is_array() || at >= params_->size()) {
          return fail("Number of parameters in request and statement don't match.");
        }
        out = (*params_)[at];
        if (auto err = normalize_value(out)) {
          return fail(*err);
        }
        return true;
      }
      case Tok::kWord:
        if (t.upper == "TRUE" || t.upper == "FALSE") {
          out = Json{{"BOOL", t.upper == "TRUE"}};
          next();
          return true;
        }
        if (t.upper == "NULL") {
          out = Json{{"NULL", true}};
          next();
          return true;
        }
        if (t.upper == "MISSING") {
          return fail("Unsupported data type: MISSING");
        }
        return malformed(is_keyword(t.upper) ? "Unexpected keyword" : "Unexpected term");
      case Tok::kPunct:
        if (t.text == "-" && peek(1).type == Tok::kNumber) {
          next();
          return number("-" + next().text, out);
        }
        if (t.text == "[") {
          next();
          Json list = Json::array();
          if (!is_punct("]")) {
            do {
              Json v;
              if (!literal(v, depth + 1)) {
                return false;
              }
              list.push_back(std::move(v));
            } while (accept_punct(","));
          }
          if (!expect_punct("]")) {
            return false;
          }
          out = Json{{"L", std::move(list)}};
          return true;
        }
        if (t.text == "{") {
          next();
          Json map = Json::object();
          if (!is_punct("}")) {
            do {
              const Token& k = peek();
              if (k.type != Tok::kString && k.type != Tok::kQuoted) {
                return malformed("Expected a string as a tuple key");
              }
              std::string key = k.text;
              next();
              if (!expect_punct(":")) {
                return false;
              }
              Json v;
              if (!literal(v, depth + 1)) {
                return false;
              }
              map[key] = std::move(v);
            } while (accept_punct(","));
          }
          if (!expect_punct("}")) {
            return false;
          }
          out = Json{{"M", std::move(map)}};
          return true;
        }
        if (t.text == "<<") {
          next();
          return bag(out);
        }
        return malformed("Unexpected term");
      default:
        return malformed("Unexpected term");
    }
  }

  bool number(const std::string& text, Json& out) {
    out = Json{{"N", text}};
    if (auto err = normalize_value(out)) {
      return fail(*err);
    }
    return true;
  }

  // A set literal after "<<": strings or numbers (binary sets only through parameters).
  bool bag(Json& out) {
    Json members = Json::array();
    std::string kind;
    if (!is_punct(">>")) {
      do {
        Json v;
        if (peek().type == Tok::kParam) {
          return fail("Unsupported data type in Bag");
        }
        if (!literal(v, 1)) {
          return false;
        }
        const Type t = type_of(v);
        const std::string k = t == Type::kS ? "SS" : (t == Type::kN ? "NS" : "");
        if (k.empty() || (!kind.empty() && k != kind)) {
          return fail("Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags");
        }
        kind = k;
        members.push_back(payload(v));
      } while (accept_punct(","));
    }
    if (!expect_punct(">>")) {
      return false;
    }
    if (members.empty()) {
      return fail("Empty bags are not supported");
    }
    out = Json{{kind, std::move(members)}};
    if (auto err = normalize_value(out)) {
      return fail(*err);
    }
    return true;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  const Json* params_;
  size_t param_count_ = 0;
  int depth_ = 0;
  static constexpr int kMaxConditionDepth = 256;
  std::string error_;
};

}  // namespace

Parsed parse_statement(std::string_view text, const Json* parameters) {
  std::vector<Token> tokens = tokenize(text);
  Parser parser(std::move(tokens), parameters);
  return parser.run();
}

}  // namespace sless::services::dynamodb::partiql
