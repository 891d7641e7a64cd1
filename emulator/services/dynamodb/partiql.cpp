// ExecuteStatement, BatchExecuteStatement and ExecuteTransaction. A parsed statement becomes the
// parameters of an item operation (PutItem / UpdateItem / DeleteItem / GetItem / Query / Scan /
// TransactWriteItems / TransactGetItems) with generated #name / :value placeholders, so every
// write goes through Engine::write like any other (streams, indexes, TTL, counts) and every
// check and message of those operations applies. A SELECT with an equality (or IN) on the
// partition key runs as Queries, else as a Scan; the whole WHERE is then evaluated on each item
// read (so Limit counts items read, as DynamoDB's does).
#include <algorithm>
#include <map>

#include "core/crypto.h"
#include "core/encoding.h"
#include "services/dynamodb/common.h"
#include "services/dynamodb/ops.h"
#include "services/dynamodb/partiql.h"

namespace sless::services::dynamodb::ops {

namespace {

using partiql::Cond;
using partiql::Operand;
using partiql::Statement;

const char* const kNoKey = "Where clause does not contain a mandatory equality on all key attributes";

// Placeholders for one expression set: names and values maps, and the text built over them.
class Bound {
 public:
  std::string name(const std::string& n) {
    auto it = name_ids_.find(n);
    if (it != name_ids_.end()) {
      return it->second;
    }
    std::string ph = "#n" + std::to_string(name_ids_.size());
    name_ids_.emplace(n, ph);
    names_[ph] = n;
    return ph;
  }
  std::string value(const Json& v) {
    std::string ph = ":v" + std::to_string(values_.size());
    values_[ph] = v;
    return ph;
  }
  std::string path(const expr::Path& p) {
    std::string out;
    for (const expr::PathElement& e : p) {
      if (e.is_index()) {
        out += "[" + std::to_string(e.index) + "]";
      } else {
        out += (out.empty() ? "" : ".") + name(e.name);
      }
    }
    return out;
  }
  // Adds ExpressionAttributeNames / ExpressionAttributeValues to request params when used.
  void attach(Json& p) const {
    if (!names_.empty()) {
      p["ExpressionAttributeNames"] = names_;
    }
    if (!values_.empty()) {
      p["ExpressionAttributeValues"] = values_;
    }
  }
  const Json& names() const { return names_; }
  const Json& values() const { return values_; }

 private:
  std::map<std::string, std::string> name_ids_;
  Json names_ = Json::object();
  Json values_ = Json::object();
};

std::optional<ServiceError> render(const Operand& o, Bound& b, std::string& out) {
  switch (o.kind) {
    case Operand::Kind::kPath: out += b.path(o.path); return std::nullopt;
    case Operand::Kind::kValue: out += b.value(o.value); return std::nullopt;
    case Operand::Kind::kSize:
      out += "size(";
      out += b.path(o.args[0].path);
      out += ")";
      return std::nullopt;
    case Operand::Kind::kAdd:
    case Operand::Kind::kSub: {
      if (auto e = render(o.args[0], b, out)) {
        return e;
      }
      out += o.kind == Operand::Kind::kAdd ? " + " : " - ";
      return render(o.args[1], b, out);
    }
    case Operand::Kind::kListAppend: {
      out += "list_append(";
      if (auto e = render(o.args[0], b, out)) {
        return e;
      }
      out += ", ";
      if (auto e = render(o.args[1], b, out)) {
        return e;
      }
      out += ")";
      return std::nullopt;
    }
    case Operand::Kind::kSetAdd:
    case Operand::Kind::kSetDelete:
      return validation_error(std::string(o.kind == Operand::Kind::kSetAdd ? "SET_ADD" : "SET_DELETE") +
                              " can only be the whole value of a SET assignment");
  }
  return std::nullopt;
}

std::optional<ServiceError> render(const Cond& c, Bound& b, std::string& out) {
  auto args = [&](const char* fn, size_t from) -> std::optional<ServiceError> {
    out += fn;
    out += "(";
    for (size_t i = from; i < c.operands.size(); ++i) {
      out += i > from ? ", " : "";
      if (auto e = render(c.operands[i], b, out)) {
        return e;
      }
    }
    out += ")";
    return std::nullopt;
  };
  switch (c.kind) {
    case Cond::Kind::kAnd:
    case Cond::Kind::kOr: {
      out += "(";
      if (auto e = render(c.children[0], b, out)) {
        return e;
      }
      out += c.kind == Cond::Kind::kAnd ? ") AND (" : ") OR (";
      if (auto e = render(c.children[1], b, out)) {
        return e;
      }
      out += ")";
      return std::nullopt;
    }
    case Cond::Kind::kNot: {
      out += "NOT (";
      if (auto e = render(c.children[0], b, out)) {
        return e;
      }
      out += ")";
      return std::nullopt;
    }
    case Cond::Kind::kCompare: {
      if (auto e = render(c.operands[0], b, out)) {
        return e;
      }
      out += " ";
      out += expr::compare_op_text(c.op);
      out += " ";
      return render(c.operands[1], b, out);
    }
    case Cond::Kind::kBetween: {
      for (size_t i = 0; i < 3; ++i) {
        out += i == 1 ? " BETWEEN " : (i == 2 ? " AND " : "");
        if (auto e = render(c.operands[i], b, out)) {
          return e;
        }
      }
      return std::nullopt;
    }
    case Cond::Kind::kIn: {
      if (auto e = render(c.operands[0], b, out)) {
        return e;
      }
      out += " IN ";
      return args("", 1);
    }
    case Cond::Kind::kMissing: out += "attribute_not_exists(" + b.path(c.operands[0].path) + ")"; return std::nullopt;
    case Cond::Kind::kNotMissing: out += "attribute_exists(" + b.path(c.operands[0].path) + ")"; return std::nullopt;
    case Cond::Kind::kNull:
    case Cond::Kind::kNotNull:
      out += c.kind == Cond::Kind::kNotNull ? "NOT " : "";
      out += "attribute_type(" + b.path(c.operands[0].path) + ", " + b.value(Json{{"S", "NULL"}}) + ")";
      return std::nullopt;
    case Cond::Kind::kBeginsWith: return args("begins_with", 0);
    case Cond::Kind::kContains: return args("contains", 0);
    case Cond::Kind::kAttributeType: return args("attribute_type", 0);
    case Cond::Kind::kAttributeExists: return args("attribute_exists", 0);
    case Cond::Kind::kAttributeNotExists: return args("attribute_not_exists", 0);
  }
  return std::nullopt;
}

// The top-level conjuncts of a condition.
void conjuncts(const Cond& c, std::vector<const Cond*>& out) {
  if (c.kind == Cond::Kind::kAnd) {
    conjuncts(c.children[0], out);
    conjuncts(c.children[1], out);
  } else {
    out.push_back(&c);
  }
}

bool is_attr(const Operand& o, const std::string& name) {
  return o.kind == Operand::Kind::kPath && o.path.size() == 1 && !o.path[0].is_index() && o.path[0].name == name;
}

// `name = value` (either side): the value, else nullptr.
const Json* equality_on(const Cond& c, const std::string& name) {
  if (c.kind != Cond::Kind::kCompare || c.op != expr::CompareOp::kEq) {
    return nullptr;
  }
  if (is_attr(c.operands[0], name) && c.operands[1].kind == Operand::Kind::kValue) {
    return &c.operands[1].value;
  }
  if (is_attr(c.operands[1], name) && c.operands[0].kind == Operand::Kind::kValue) {
    return &c.operands[0].value;
  }
  return nullptr;
}

// The key attribute names a statement addresses: the table's or the index's.
struct KeyNames {
  std::string hash;
  std::string range;  // empty without a sort key
};

// A single-item statement's key from its WHERE (every key attribute by equality), and the
// rest of the WHERE as a condition (nullopt when nothing is left).
struct KeyedWhere {
  Json key = Json::object();
  std::vector<const Cond*> rest;
};

std::optional<KeyedWhere> keyed_where(const Cond& where, const KeyNames& k) {
  std::vector<const Cond*> all;
  conjuncts(where, all);
  KeyedWhere out;
  for (const Cond* c : all) {
    if (!out.key.contains(k.hash)) {
      if (const Json* v = equality_on(*c, k.hash)) {
        out.key[k.hash] = *v;
        continue;
      }
    }
    if (!k.range.empty() && !out.key.contains(k.range)) {
      if (const Json* v = equality_on(*c, k.range)) {
        out.key[k.range] = *v;
        continue;
      }
    }
    out.rest.push_back(c);
  }
  if (!out.key.contains(k.hash) || (!k.range.empty() && !out.key.contains(k.range))) {
    return std::nullopt;
  }
  return out;
}

std::optional<ServiceError> render_all(const std::vector<const Cond*>& cs, Bound& b, std::string& out) {
  for (size_t i = 0; i < cs.size(); ++i) {
    out += i > 0 ? " AND (" : "(";
    if (auto e = render(*cs[i], b, out)) {
      return e;
    }
    out += ")";
  }
  return std::nullopt;
}

KeyNames table_keys(const TableDef& def) {
  return KeyNames{def.key.hash.name, def.key.range ? def.key.range->name : std::string()};
}

// The parsed JSON of an operation's output (raw body or result tree).
Json body_of(protocol::OperationOutput& out) {
  if (out.raw_payload) {
    Json j = Json::parse(*out.raw_payload, nullptr, false);
    return j.is_object() ? j : Json::object();
  }
  return std::move(out.result);
}

double units_of(const Json& body) {
  auto it = body.find("ConsumedCapacity");
  if (it == body.end() || !it->is_object()) {
    return 0;
  }
  return it->value("CapacityUnits", 0.0);
}

// The name a projected path gets in a result: its last attribute name and the list indexes
// after it ("m.k[1]" → "k[1]").
std::string projected_name(const expr::Path& p) {
  size_t last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!p[i].is_index()) {
      last = i;
    }
  }
  std::string out = p[last].name;
  for (size_t i = last + 1; i < p.size(); ++i) {
    out += "[" + std::to_string(p[i].index) + "]";
  }
  return out;
}

std::optional<ServiceError> check_projection(const Statement& st) {
  std::set<std::string> seen;
  for (const expr::Path& p : st.projection) {
    const std::string n = projected_name(p);
    if (!seen.insert(n).second) {
      return validation_error("Duplicate identifiers in select clause: " + n);
    }
  }
  return std::nullopt;
}

Json project_item(const Statement& st, Json item) {
  if (st.select_all) {
    return item;
  }
  Json out = Json::object();
  for (const expr::Path& p : st.projection) {
    if (const Json* v = expr::resolve_path(item, p)) {
      out[projected_name(p)] = *v;
    }
  }
  return out;
}

// The WHERE of a read, ready to evaluate on items.
struct Filter {
  Bound bound;
  std::optional<expr::Condition> cond;
};

std::optional<ServiceError> make_filter(const std::optional<Cond>& where, Filter& f) {
  if (!where) {
    return std::nullopt;
  }
  std::string text;
  if (auto e = render(*where, f.bound, text)) {
    return e;
  }
  expr::Binder binder(&f.bound.names(), &f.bound.values());
  auto parsed = expr::parse_condition(text, binder);
  if (auto* msg = std::get_if<std::string>(&parsed)) {
    return validation_error(*msg);
  }
  f.cond = std::move(std::get<expr::Condition>(parsed));
  return std::nullopt;
}

bool matches(const Filter& f, const Json& item) { return !f.cond || expr::evaluate(*f.cond, item); }

Outcome<std::shared_ptr<Table>> find_table(Engine& e, const RequestContext& ctx, const std::string& name) {
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return table_not_found();
  }
  return table;
}

// ---- writes ------------------------------------------------------------------------------------

// The parameters of the item operation a write statement becomes, and which one.
struct WriteCall {
  enum class Op { kPut, kUpdate, kDelete, kCheck };
  Op op = Op::kPut;
  std::string table;
  Json params;
};

const char* kReadWriteMix = "ExecuteTransaction API does not support both read and write operations in the same request.";

Outcome<WriteCall> plan_write(Engine& e, const RequestContext& ctx, const Statement& st) {
  auto table = find_table(e, ctx, st.table);
  if (!table.ok()) {
    return std::move(table).error();
  }
  std::shared_ptr<const TableDef> def = table.value()->def();
  const KeyNames keys = table_keys(*def);
  WriteCall call;
  call.table = def->name;
  call.params = Json{{"TableName", def->name}};
  Bound b;
  if (st.kind == Statement::Kind::kInsert) {
    call.op = WriteCall::Op::kPut;
    call.params["Item"] = st.item;
    call.params["ConditionExpression"] = "attribute_not_exists(" + b.name(keys.hash) + ")";
    b.attach(call.params);
    return call;
  }
  auto kw = st.where ? keyed_where(*st.where, keys) : std::nullopt;
  if (!kw) {
    return validation_error(kNoKey);
  }
  call.params["Key"] = kw->key;
  std::string condition;
  if (st.kind == Statement::Kind::kUpdate) {
    condition = "attribute_exists(" + b.name(keys.hash) + ")";
    if (!kw->rest.empty()) {
      condition += " AND ";
    }
  }
  if (st.kind == Statement::Kind::kExists && kw->rest.empty()) {
    return validation_error("EXISTS() must contain a single item read with additional condition");
  }
  if (auto err = render_all(kw->rest, b, condition)) {
    return std::move(*err);
  }
  if (st.kind == Statement::Kind::kUpdate) {
    call.op = WriteCall::Op::kUpdate;
    std::string set;
    std::string remove;
    std::string add;
    std::string del;
    auto append = [](std::string& list, const std::string& item) { list += (list.empty() ? "" : ", ") + item; };
    for (const partiql::UpdateAction& a : st.actions) {
      const std::string target = b.path(a.path);
      if (a.remove) {
        append(remove, target);
        continue;
      }
      if (a.value.kind == Operand::Kind::kSetAdd || a.value.kind == Operand::Kind::kSetDelete) {
        const char* fn = a.value.kind == Operand::Kind::kSetAdd ? "SET_ADD" : "SET_DELETE";
        const Operand& first = a.value.args[0];
        if (first.kind != Operand::Kind::kPath || !(first.path == a.path)) {
          return validation_error(std::string("The first argument to ") + fn + " must equal the assignment value");
        }
        if (a.value.args[1].kind != Operand::Kind::kValue) {
          return validation_error(std::string("The second argument to ") + fn + " must be a set value");
        }
        append(a.value.kind == Operand::Kind::kSetAdd ? add : del, target + " " + b.value(a.value.args[1].value));
        continue;
      }
      std::string value;
      if (auto err = render(a.value, b, value)) {
        return std::move(*err);
      }
      append(set, target + " = " + value);
    }
    std::string ue;
    for (const auto& [kw_text, list] : {std::pair<const char*, std::string*>{"SET ", &set}, {"REMOVE ", &remove},
                                        {"ADD ", &add}, {"DELETE ", &del}}) {
      if (!list->empty()) {
        ue += (ue.empty() ? "" : " ") + std::string(kw_text) + *list;
      }
    }
    call.params["UpdateExpression"] = ue;
    if (!st.returning.empty()) {
      call.params["ReturnValues"] = st.returning;
    }
  } else if (st.kind == Statement::Kind::kDelete) {
    call.op = WriteCall::Op::kDelete;
    if (!st.returning.empty()) {
      call.params["ReturnValues"] = st.returning;
    }
  } else {
    call.op = WriteCall::Op::kCheck;
  }
  if (!condition.empty()) {
    call.params["ConditionExpression"] = condition;
  }
  b.attach(call.params);
  return call;
}

// Runs a single write statement; answers the Items of its RETURNING clause.
Outcome<Json> run_write(Engine& e, const RequestContext& ctx, const Statement& st, const Json& request,
                        double* units, std::string* table_name) {
  if (st.kind == Statement::Kind::kExists) {
    return validation_error("EXISTS can only be used in ExecuteTransaction write requests.");
  }
  auto call = plan_write(e, ctx, st);
  if (!call.ok()) {
    return std::move(call).error();
  }
  Json& p = call.value().params;
  *table_name = call.value().table;
  for (const char* member : {"ReturnConsumedCapacity", "ReturnValuesOnConditionCheckFailure"}) {
    if (request.contains(member)) {
      p[member] = request[member];
    }
  }
  if (!p.contains("ReturnConsumedCapacity")) {
    p["ReturnConsumedCapacity"] = "TOTAL";
  }
  Output out = call.value().op == WriteCall::Op::kPut      ? put_item(e, ctx, p)
               : call.value().op == WriteCall::Op::kUpdate ? update_item(e, ctx, p)
                                                           : delete_item(e, ctx, p);
  if (!out.ok()) {
    ServiceError err = std::move(out).error();
    if (st.kind == Statement::Kind::kInsert && err.code == "ConditionalCheckFailedException") {
      return ServiceError("DuplicateItemException", "Duplicate primary key exists in table");
    }
    return err;
  }
  Json body = body_of(out.value());
  *units += units_of(body);
  Json items = Json::array();
  if (body.contains("Attributes")) {
    items.push_back(std::move(body["Attributes"]));
  }
  return items;
}

// ---- reads -------------------------------------------------------------------------------------

// A SELECT's plan: the key names it reads by, the partition values to query (none: a scan),
// the sort-key conjunct usable as a key condition, and the order.
struct ReadPlan {
  std::shared_ptr<const TableDef> def;
  const IndexDef* index = nullptr;
  KeyNames keys;
  std::vector<Json> hash_values;
  const Cond* sort = nullptr;
  bool forward = true;
};

bool values_only(const Cond& c, size_t from) {
  for (size_t i = from; i < c.operands.size(); ++i) {
    if (c.operands[i].kind != Operand::Kind::kValue) {
      return false;
    }
  }
  return true;
}

// `pk = a OR pk = b ...`: the values, else empty.
void or_equalities(const Cond& c, const std::string& hash, std::vector<Json>& out, bool& ok) {
  if (c.kind == Cond::Kind::kOr) {
    or_equalities(c.children[0], hash, out, ok);
    or_equalities(c.children[1], hash, out, ok);
    return;
  }
  if (const Json* v = equality_on(c, hash)) {
    out.push_back(*v);
  } else {
    ok = false;
  }
}

Outcome<ReadPlan> plan_read(Engine& e, const RequestContext& ctx, const Statement& st) {
  auto table = find_table(e, ctx, st.table);
  if (!table.ok()) {
    return std::move(table).error();
  }
  ReadPlan plan;
  plan.def = table.value()->def();
  plan.keys = table_keys(*plan.def);
  if (!st.index.empty()) {
    for (const IndexDef& idx : plan.def->indexes) {
      if (idx.name == st.index) {
        plan.index = &idx;
      }
    }
    if (plan.index == nullptr) {
      return validation_error("The table does not have the specified index: " + st.index);
    }
    plan.keys = KeyNames{plan.index->key.hash.name, plan.index->key.range ? plan.index->key.range->name : ""};
  }
  if (auto err = check_projection(st)) {
    return std::move(*err);
  }
  if (st.where) {
    std::vector<const Cond*> all;
    conjuncts(*st.where, all);
    for (const Cond* c : all) {
      if (!plan.hash_values.empty()) {
        break;
      }
      if (const Json* v = equality_on(*c, plan.keys.hash)) {
        plan.hash_values.push_back(*v);
      } else if (c->kind == Cond::Kind::kIn && is_attr(c->operands[0], plan.keys.hash) && values_only(*c, 1)) {
        for (size_t i = 1; i < c->operands.size(); ++i) {
          plan.hash_values.push_back(c->operands[i].value);
        }
      } else if (c->kind == Cond::Kind::kOr) {
        std::vector<Json> values;
        bool ok = true;
        or_equalities(*c, plan.keys.hash, values, ok);
        if (ok) {
          plan.hash_values = std::move(values);
        }
      }
    }
    if (!plan.hash_values.empty() && !plan.keys.range.empty()) {
      for (const Cond* c : all) {
        const bool on_range = !c->operands.empty() && is_attr(c->operands[0], plan.keys.range) && values_only(*c, 1);
        const bool usable = (c->kind == Cond::Kind::kCompare && c->op != expr::CompareOp::kNe) ||
                            c->kind == Cond::Kind::kBetween || c->kind == Cond::Kind::kBeginsWith;
        if (on_range && usable) {
          plan.sort = c;
          break;
        }
      }
    }
  }
  if (!st.order_by.empty()) {
    if (!st.where) {
      return validation_error("Must have WHERE clause in the statement when using ORDER BY clause.");
    }
    for (const Statement::Order& o : st.order_by) {
      if (!is_attr(Operand{Operand::Kind::kPath, o.path, {}, {}}, plan.keys.hash) &&
          !is_attr(Operand{Operand::Kind::kPath, o.path, {}, {}}, plan.keys.range)) {
        return validation_error("Attribute " + expr::path_to_string(o.path) +
                                " in ORDER BY clause must be part of the primary key");
      }
    }
    if (plan.hash_values.empty()) {
      return validation_error(
          "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.");
    }
    const bool hash_first = st.order_by[0].path[0].name == plan.keys.hash;
    if (plan.hash_values.size() > 1 && !hash_first) {
      return validation_error(
          "Must have hash key in ORDER BY clause when more than one hash key condition specified in WHERE clause.");
    }
    for (const Statement::Order& o : st.order_by) {
      if (o.path[0].name == plan.keys.hash) {
        std::stable_sort(plan.hash_values.begin(), plan.hash_values.end(), [&](const Json& a, const Json& b) {
          auto c = compare_values(a, b);
          return c && (o.descending ? *c > 0 : *c < 0);
        });
      } else {
        plan.forward = !o.descending;
      }
    }
  }
  return plan;
}

// The paging token: which partition value the next page starts at, and where in it.
std::string statement_digest(const Json& request) {
  std::string basis = request.value("Statement", std::string());
  if (request.contains("Parameters")) {
    basis += dump(request["Parameters"]);
  }
  return enc::hex_encode(crypto::sha256(basis)).substr(0, 16);
}

struct PageStart {
  size_t value_index = 0;
  Json start_key;  // null: from the beginning of that value
};

Outcome<PageStart> decode_token(const Json& request) {
  PageStart start;
  auto it = request.find("NextToken");
  if (it == request.end() || !it->is_string()) {
    return start;
  }
  auto raw = enc::base64_decode(it->get<std::string>());
  Json tok = raw ? Json::parse(*raw, nullptr, false) : Json();
  if (!tok.is_object() || !tok.contains("s") || !tok["s"].is_string() || !tok.contains("i") ||
      !tok["i"].is_number_integer() || tok["i"].get<int64_t>() < 0) {
    return validation_error("Invalid NextToken");
  }
  if (tok["s"].get<std::string>() != statement_digest(request)) {
    return validation_error("The provided starting key is invalid");
  }
  start.value_index = tok["i"].get<size_t>();
  if (tok.contains("k")) {
    start.start_key = tok["k"];
  }
  return start;
}

std::string encode_token(const Json& request, size_t value_index, const Json* start_key) {
  Json tok{{"s", statement_digest(request)}, {"i", value_index}};
  if (start_key != nullptr) {
    tok["k"] = *start_key;
  }
  return enc::base64_encode(dump(tok));
}

// Runs a SELECT as Queries or a Scan: one page.
Output run_select(Engine& e, const RequestContext& ctx, const Statement& st, const Json& request) {
  auto planned = plan_read(e, ctx, st);
  if (!planned.ok()) {
    return std::move(planned).error();
  }
  const ReadPlan& plan = planned.value();
  Filter filter;
  if (auto err = make_filter(st.where, filter)) {
    return std::move(*err);
  }
  auto start = decode_token(request);
  if (!start.ok()) {
    return std::move(start).error();
  }
  const bool query = !plan.hash_values.empty();
  const size_t rounds = query ? plan.hash_values.size() : 1;
  std::optional<size_t> remaining;
  if (request.contains("Limit") && request["Limit"].is_number_integer() && request["Limit"].get<int64_t>() > 0) {
    remaining = request["Limit"].get<size_t>();
  }
  Json items = Json::array();
  double units = 0;
  std::string next_token;
  for (size_t i = start.value().value_index; i < rounds; ++i) {
    Json p{{"TableName", plan.def->name}, {"ReturnConsumedCapacity", "TOTAL"}};
    if (plan.index != nullptr) {
      p["IndexName"] = plan.index->name;
    }
    if (request.contains("ConsistentRead")) {
      p["ConsistentRead"] = request["ConsistentRead"];
    }
    if (remaining) {
      p["Limit"] = *remaining;
    }
    if (i == start.value().value_index && !start.value().start_key.is_null()) {
      p["ExclusiveStartKey"] = start.value().start_key;
    }
    Output out = Output(protocol::OperationOutput());
    if (query) {
      Bound kb;
      std::string kc = kb.name(plan.keys.hash) + " = " + kb.value(plan.hash_values[i]);
      if (plan.sort != nullptr) {
        kc += " AND ";
        if (auto err = render(*plan.sort, kb, kc)) {
          return std::move(*err);
        }
      }
      p["KeyConditionExpression"] = kc;
      p["ScanIndexForward"] = plan.forward;
      kb.attach(p);
      out = ops::query(e, ctx, p);
    } else {
      out = ops::scan(e, ctx, p);
    }
    if (!out.ok()) {
      return std::move(out).error();
    }
    Json body = body_of(out.value());
    units += units_of(body);
    for (Json& item : body["Items"]) {
      if (matches(filter, item)) {
        items.push_back(project_item(st, std::move(item)));
      }
    }
    if (remaining) {
      const size_t scanned = body.value("ScannedCount", size_t{0});
      *remaining -= std::min(*remaining, scanned);
    }
    auto lek = body.find("LastEvaluatedKey");
    if (lek != body.end()) {
      next_token = encode_token(request, i, &*lek);
      break;
    }
    if (remaining && *remaining == 0) {
      if (i + 1 < rounds) {
        next_token = encode_token(request, i + 1, nullptr);
      }
      break;
    }
  }
  Json result{{"Items", std::move(items)}};
  if (!next_token.empty()) {
    result["NextToken"] = next_token;
  }
  const std::string mode = request.value("ReturnConsumedCapacity", std::string("NONE"));
  if (mode != "NONE") {
    result["ConsumedCapacity"] = capacity_json(mode, plan.def->name, units, false);
  }
  return protocol::OperationOutput(std::move(result));
}

// A SELECT naming one item by its whole table key (batches and transactions): its table and
// key, and the rest of its WHERE to evaluate on the item.
struct KeyedRead {
  std::string table;
  Json key;
  std::vector<const Cond*> rest;
};

Outcome<KeyedRead> keyed_read(Engine& e, const RequestContext& ctx, const Statement& st, const char* api) {
  auto table = find_table(e, ctx, st.table);
  if (!table.ok()) {
    return std::move(table).error();
  }
  std::shared_ptr<const TableDef> def = table.value()->def();
  auto kw = st.where && st.index.empty() ? keyed_where(*st.where, table_keys(*def)) : std::nullopt;
  if (!kw) {
    return validation_error(std::string("Select statements within ") + api +
                            " must specify the primary key in the where clause.");
  }
  if (auto err = check_projection(st)) {
    return std::move(*err);
  }
  return KeyedRead{def->name, std::move(kw->key), std::move(kw->rest)};
}

// Evaluates the non-key part of a keyed read on the item and projects it.
Outcome<std::optional<Json>> finish_read(const Statement& st, const KeyedRead& r, Json item) {
  std::optional<Cond> where;
  Filter f;
  if (!r.rest.empty()) {
    where = *r.rest[0];
    for (size_t i = 1; i < r.rest.size(); ++i) {
      Cond both;
      both.kind = Cond::Kind::kAnd;
      both.children = {std::move(*where), *r.rest[i]};
      where = std::move(both);
    }
  }
  if (auto err = make_filter(where, f)) {
    return std::move(*err);
  }
  if (!matches(f, item)) {
    return std::optional<Json>();
  }
  return std::optional<Json>(project_item(st, std::move(item)));
}

std::string batch_code(const std::string& exception) {
  static const std::pair<const char*, const char*> kCodes[] = {
      {"ValidationException", "ValidationError"},
      {"ConditionalCheckFailedException", "ConditionalCheckFailed"},
      {"ResourceNotFoundException", "ResourceNotFound"},
      {"DuplicateItemException", "DuplicateItem"},
      {"TransactionConflictException", "TransactionConflict"},
      {"ItemCollectionSizeLimitExceededException", "ItemCollectionSizeLimitExceeded"},
      {"ProvisionedThroughputExceededException", "ProvisionedThroughputExceeded"},
      {"RequestLimitExceeded", "RequestLimitExceeded"},
      {"ThrottlingException", "ThrottlingError"},
  };
  for (const auto& [from, to] : kCodes) {
    if (exception == from) {
      return to;
    }
  }
  return "InternalServerError";
}

Json batch_error(const ServiceError& err) {
  Json e{{"Code", batch_code(err.code)}, {"Message", err.message}};
  if (err.fields.contains("Item")) {
    e["Item"] = err.fields["Item"];
  }
  return Json{{"Error", std::move(e)}};
}

}  // namespace

Output execute_statement(Engine& e, const RequestContext& ctx, Json& p) {
  const Json* params = p.contains("Parameters") ? &p["Parameters"] : nullptr;
  auto parsed = partiql::parse_statement(p.value("Statement", std::string()), params);
  if (auto* msg = std::get_if<std::string>(&parsed)) {
    return validation_error(*msg);
  }
  const Statement& st = std::get<Statement>(parsed);
  if (st.is_read()) {
    return run_select(e, ctx, st, p);
  }
  double units = 0;
  std::string table;
  auto items = run_write(e, ctx, st, p, &units, &table);
  if (!items.ok()) {
    return std::move(items).error();
  }
  Json result{{"Items", std::move(items).value()}};
  const std::string mode = p.value("ReturnConsumedCapacity", std::string("NONE"));
  if (mode != "NONE") {
    result["ConsumedCapacity"] = capacity_json(mode, table, units, true);
  }
  return protocol::OperationOutput(std::move(result));
}

Output batch_execute_statement(Engine& e, const RequestContext& ctx, Json& p) {
  Json& statements = p["Statements"];
  std::vector<partiql::Parsed> parsed;
  bool reads = false;
  bool writes = false;
  for (Json& s : statements) {
    const Json* params = s.contains("Parameters") ? &s["Parameters"] : nullptr;
    parsed.push_back(partiql::parse_statement(s.value("Statement", std::string()), params));
    if (const auto* st = std::get_if<Statement>(&parsed.back())) {
      (st->is_read() ? reads : writes) = true;
    }
  }
  if (reads && writes) {
    return validation_error(
        "The entire batch must consist of either read statements or write statements, you cannot mix both in one "
        "batch.");
  }
  const std::string mode = p.value("ReturnConsumedCapacity", std::string("NONE"));
  std::map<std::string, double> units;
  Json responses = Json::array();
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (auto* msg = std::get_if<std::string>(&parsed[i])) {
      responses.push_back(batch_error(validation_error(*msg)));
      continue;
    }
    const Statement& st = std::get<Statement>(parsed[i]);
    const Json& request = statements[i];
    if (!st.is_read()) {
      double u = 0;
      std::string table;
      Json sub = request;
      sub["ReturnConsumedCapacity"] = "TOTAL";
      auto items = run_write(e, ctx, st, sub, &u, &table);
      if (!items.ok()) {
        responses.push_back(batch_error(items.error()));
        continue;
      }
      units[table] += u;
      Json r{{"TableName", table}};
      if (!items.value().empty() && !items.value()[0].empty()) {
        r["Item"] = std::move(items.value()[0]);
      }
      responses.push_back(std::move(r));
      continue;
    }
    auto read = keyed_read(e, ctx, st, "BatchExecuteStatement");
    if (!read.ok()) {
      responses.push_back(batch_error(read.error()));
      continue;
    }
    Json gp{{"TableName", read.value().table}, {"Key", read.value().key}, {"ReturnConsumedCapacity", "TOTAL"}};
    if (request.contains("ConsistentRead")) {
      gp["ConsistentRead"] = request["ConsistentRead"];
    }
    Output out = get_item(e, ctx, gp);
    if (!out.ok()) {
      responses.push_back(batch_error(out.error()));
      continue;
    }
    Json body = body_of(out.value());
    units[read.value().table] += units_of(body);
    Json r{{"TableName", read.value().table}};
    if (body.contains("Item")) {
      auto item = finish_read(st, read.value(), std::move(body["Item"]));
      if (!item.ok()) {
        responses.push_back(batch_error(item.error()));
        continue;
      }
      if (item.value()) {
        r["Item"] = std::move(*item.value());
      }
    }
    responses.push_back(std::move(r));
  }
  Json result{{"Responses", std::move(responses)}};
  if (mode != "NONE") {
    Json capacity = Json::array();
    for (const auto& [table, u] : units) {
      capacity.push_back(capacity_json(mode, table, u, writes));
    }
    result["ConsumedCapacity"] = std::move(capacity);
  }
  return protocol::OperationOutput(std::move(result));
}

Output execute_transaction(Engine& e, const RequestContext& ctx, Json& p) {
  Json& statements = p["TransactStatements"];
  std::vector<Statement> parsed;
  auto in_member = [](size_t i, const std::string& message) {
    return validation_error("Validation failed in TransactStatements[" + std::to_string(i) + "]: " + message);
  };
  bool reads = false;
  bool writes = false;
  for (size_t i = 0; i < statements.size(); ++i) {
    Json& s = statements[i];
    const Json* params = s.contains("Parameters") ? &s["Parameters"] : nullptr;
    auto one = partiql::parse_statement(s.value("Statement", std::string()), params);
    if (auto* msg = std::get_if<std::string>(&one)) {
      return in_member(i, *msg);
    }
    Statement& st = std::get<Statement>(one);
    if (!st.returning.empty()) {
      return in_member(i, "RETURNING clause is not supported in ExecuteTransaction.");
    }
    (st.is_read() ? reads : writes) = true;
    parsed.push_back(std::move(st));
  }
  if (reads && writes) {
    return validation_error(kReadWriteMix);
  }
  if (reads) {
    std::vector<KeyedRead> keyed;
    Json tp{{"TransactItems", Json::array()}};
    if (p.contains("ReturnConsumedCapacity")) {
      tp["ReturnConsumedCapacity"] = p["ReturnConsumedCapacity"];
    }
    for (size_t i = 0; i < parsed.size(); ++i) {
      auto read = keyed_read(e, ctx, parsed[i], "ExecuteTransaction");
      if (!read.ok()) {
        const ServiceError& err = read.error();
        return err.code == "ValidationException" ? in_member(i, err.message) : err;
      }
      tp["TransactItems"].push_back(
          Json{{"Get", Json{{"TableName", read.value().table}, {"Key", read.value().key}}}});
      keyed.push_back(std::move(read).value());
    }
    Output out = transact_get_items(e, ctx, tp);
    if (!out.ok()) {
      return out;
    }
    Json body = body_of(out.value());
    Json& responses = body["Responses"];
    for (size_t i = 0; i < responses.size() && i < parsed.size(); ++i) {
      if (!responses[i].contains("Item")) {
        continue;
      }
      auto item = finish_read(parsed[i], keyed[i], std::move(responses[i]["Item"]));
      if (!item.ok()) {
        return std::move(item).error();
      }
      responses[i] = item.value() ? Json{{"Item", std::move(*item.value())}} : Json::object();
    }
    return protocol::OperationOutput(std::move(body));
  }
  Json tp{{"TransactItems", Json::array()}};
  for (const char* member : {"ReturnConsumedCapacity", "ClientRequestToken"}) {
    if (p.contains(member)) {
      tp[member] = p[member];
    }
  }
  for (size_t i = 0; i < parsed.size(); ++i) {
    auto call = plan_write(e, ctx, parsed[i]);
    if (!call.ok()) {
      const ServiceError& err = call.error();
      return err.code == "ValidationException" ? in_member(i, err.message) : err;
    }
    Json& member = call.value().params;
    if (statements[i].contains("ReturnValuesOnConditionCheckFailure")) {
      member["ReturnValuesOnConditionCheckFailure"] = statements[i]["ReturnValuesOnConditionCheckFailure"];
    }
    static constexpr const char* kMembers[] = {"Put", "Update", "Delete", "ConditionCheck"};
    tp["TransactItems"].push_back(Json{{kMembers[static_cast<int>(call.value().op)], std::move(member)}});
  }
  Output out = transact_write_items(e, ctx, tp);
  if (out.ok()) {
    return out;
  }
  ServiceError err = std::move(out).error();
  if (err.code != "TransactionCanceledException" || !err.fields.contains("CancellationReasons")) {
    return err;
  }
  // An INSERT whose key exists is a DuplicateItem, not a failed condition.
  Json& reasons = err.fields["CancellationReasons"];
  std::string codes;
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (i < parsed.size() && parsed[i].kind == Statement::Kind::kInsert &&
        reasons[i].value("Code", std::string()) == "ConditionalCheckFailed") {
      reasons[i] = Json{{"Code", "DuplicateItem"}, {"Message", "Duplicate primary key exists in table"}};
    }
    codes += (codes.empty() ? "" : ", ") + reasons[i].value("Code", std::string("None"));
  }
  err.message = "Transaction cancelled, please refer cancellation reasons for specific reasons [" + codes + "]";
  return err;
}

}  // namespace sless::services::dynamodb::ops
