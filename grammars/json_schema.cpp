// grammars/json_schema.cpp — JSON Schema to grammar: keyword checks, $ref rules, allOf merging,
// per-type expressions (objects, arrays, strings, numbers), enum/const filtering.
#include "grammars/json_schema.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "grammars/compiler.h"
#include "grammars/json_values.h"
#include "grammars/matcher.h"
#include "grammars/regex.h"

namespace glm::grammar {

using json = nlohmann::ordered_json;

namespace {

const std::set<std::string> kAnnotations = {
    "$schema", "$id", "$comment", "$defs", "definitions", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "contentSchema", "$anchor",
    "$dynamicAnchor", "$vocabulary"};
const std::set<std::string> kSupported = {
    "type", "enum", "const", "properties", "required", "additionalProperties", "patternProperties",
    "propertyNames", "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength",
    "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf",
    "not", "$ref"};
const std::vector<std::string> kTypes = {"null", "boolean", "object", "array", "string", "number", "integer"};

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

// A value serialised in the given layout (spaced: Python json.dumps separators).
std::string dump_layout(const json& v, JsonLayout layout) {
  if (layout == JsonLayout::compact || !v.is_structured()) return v.dump();
  std::string out(1, v.is_object() ? '{' : '[');
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!first) out += ", ";
    first = false;
    if (v.is_object()) out += json(it.key()).dump() + ": ";
    out += dump_layout(*it, layout);
  }
  out += v.is_object() ? '}' : ']';
  return out;
}

// Canonical serialisations of a value (numbers: also the integral/float twin, e.g. 1 and 1.0).
std::vector<std::string> literal_forms(const json& v, JsonLayout layout) {
  std::vector<std::string> out{dump_layout(v, layout)};
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d)) && std::abs(d) < 9e15)
      out.push_back(json(static_cast<long long>(d)).dump());
  } else if (v.is_number_integer()) {
    out.push_back(v.dump() + ".0");
  }
  return out;
}

class SchemaCompiler {
 public:
  SchemaCompiler(Grammar& g, const json& root, JsonLayout layout) : g_(g), p_(g.pool), root_(root), layout_(layout) {}

  Result<ExprId> run() {
    ExprId e = compile(root_, "", 0);
    finish_enums();
    if (!errors_.empty()) {
      std::string msg;
      for (size_t i = 0; i < errors_.size() && i < 20; ++i) msg += (i ? "; " : "") + errors_[i];
      if (errors_.size() > 20) msg += "; ... (" + std::to_string(errors_.size()) + " errors)";
      return make_error(error_code_, msg);
    }
    return e;
  }

 private:
  void error(ErrorCode code, const std::string& ptr, const std::string& msg) {
    if (errors_.empty()) error_code_ = code;
    errors_.push_back((ptr.empty() ? std::string("/") : ptr) + ": " + msg);
  }
  void unsupported(const std::string& ptr, const std::string& keyword, const std::string& why = "") {
    error(ErrorCode::unsupported, ptr + "/" + escape_pointer(keyword),
          "unsupported keyword '" + keyword + "'" + (why.empty() ? "" : " (" + why + ")"));
  }

  // ---- shared pieces -------------------------------------------------------------------------------
  ExprId item_sep() { return layout_ == JsonLayout::spaced ? p_.literal(", ") : p_.byte(','); }
  ExprId key_sep() { return layout_ == JsonLayout::spaced ? p_.literal(": ") : p_.byte(':'); }
  ExprId str_char() { return any_char_expr(p_, RegexMode::json_string); }
  ExprId quote() { return p_.byte('"'); }
  ExprId any_string() { return p_.seq({quote(), p_.star(str_char()), quote()}); }
  ExprId any_number() { return json_number_expr(p_, std::nullopt, std::nullopt, false); }
  ExprId any_value() {
    if (any_rule_ == kInf) {
      any_rule_ = g_.add_rule("json_value");
      ExprId v = p_.call(any_rule_);
      ExprId member = p_.seq({any_string(), key_sep(), v});
      ExprId obj = p_.seq({p_.byte('{'), p_.opt(p_.seq(member, p_.star(p_.seq(item_sep(), member)))), p_.byte('}')});
      ExprId arr = p_.seq({p_.byte('['), p_.opt(p_.seq(v, p_.star(p_.seq(item_sep(), v)))), p_.byte(']')});
      g_.rules[any_rule_].body = p_.alt({p_.literal("null"), p_.literal("true"), p_.literal("false"), any_number(),
                                         any_string(), arr, obj});
    }
    return p_.call(any_rule_);
  }

  // ---- $ref ------------------------------------------------------------------------------------------
  const json* resolve(const std::string& ref, const std::string& ptr) {
    if (ref.empty() || ref[0] != '#') {
      error(ErrorCode::unsupported, ptr + "/$ref", "unsupported keyword '$ref' (only local references '#...' are supported: '" + ref + "')");
      return nullptr;
    }
    std::string frag = ref.substr(1);
    // Percent-decoding.
    std::string dec;
    for (size_t i = 0; i < frag.size(); ++i) {
      if (frag[i] == '%' && i + 2 < frag.size() + 0 && i + 2 <= frag.size() - 1 + 1) {
        auto hexv = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
        if (i + 2 < frag.size() + 1 && i + 2 <= frag.size() && hexv(frag[i + 1]) >= 0 && hexv(frag[i + 2]) >= 0) {
          dec.push_back(static_cast<char>(hexv(frag[i + 1]) * 16 + hexv(frag[i + 2])));
          i += 2;
          continue;
        }
      }
      dec.push_back(frag[i]);
    }
    if (!dec.empty() && dec[0] != '/') {
      error(ErrorCode::unsupported, ptr + "/$ref", "unsupported keyword '$ref' (anchor references '" + ref + "' are not supported)");
      return nullptr;
    }
    const json* cur = &root_;
    size_t pos = 1;
    while (pos <= dec.size() && !dec.empty()) {
      size_t next = dec.find('/', pos);
      std::string tok = dec.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      std::string key;
      for (size_t i = 0; i < tok.size(); ++i) {
        if (tok[i] == '~' && i + 1 < tok.size() && tok[i + 1] == '0') { key.push_back('~'); ++i; }
        else if (tok[i] == '~' && i + 1 < tok.size() && tok[i + 1] == '1') { key.push_back('/'); ++i; }
        else key.push_back(tok[i]);
      }
      if (cur->is_object() && cur->contains(key)) {
        cur = &(*cur)[key];
      } else if (cur->is_array() && !key.empty() && std::all_of(key.begin(), key.end(), ::isdigit) &&
                 std::stoul(key) < cur->size()) {
        cur = &(*cur)[std::stoul(key)];
      } else {
        error(ErrorCode::invalid_argument, ptr + "/$ref", "reference '" + ref + "' does not resolve");
        return nullptr;
      }
      if (next == std::string::npos) break;
      pos = next + 1;
    }
    return cur;
  }

  ExprId ref_call(const std::string& ref, const std::string& ptr, int depth) {
    auto it = ref_rules_.find(ref);
    if (it != ref_rules_.end()) return p_.call(it->second);
    const json* target = resolve(ref, ptr);
    if (!target) return ExprPool::kEmpty;
    uint32_t rule = g_.add_rule("ref " + ref);
    ref_rules_[ref] = rule;
    ExprId body = compile(*target, ref.substr(1), depth + 1);
    g_.rules[rule].body = body;
    return p_.call(rule);
  }

  // ---- allOf merging -------------------------------------------------------------------------------
  // Merges schemas into one that validates their conjunction; nullopt (with an error) when not possible.
  std::optional<json> merge(const std::vector<json>& parts, const std::string& ptr, int depth) {
    if (depth > 32) { error(ErrorCode::unsupported, ptr, "allOf/$ref nesting too deep to merge"); return std::nullopt; }
    std::vector<json> flat;
    std::function<bool(const json&, int)> add = [&](const json& s, int d) -> bool {
      if (d > 32) { error(ErrorCode::unsupported, ptr, "allOf/$ref nesting too deep to merge"); return false; }
      if (s.is_boolean()) { flat.push_back(s); return true; }
      if (!s.is_object()) { error(ErrorCode::invalid_argument, ptr, "schema must be an object or a boolean"); return false; }
      json rest = s;
      if (rest.contains("allOf")) {
        json all = rest["allOf"];
        rest.erase("allOf");
        if (!all.is_array()) { error(ErrorCode::invalid_argument, ptr + "/allOf", "allOf must be an array"); return false; }
        for (const json& m : all)
          if (!add(m, d + 1)) return false;
      }
      if (rest.contains("$ref") && rest["$ref"].is_string()) {
        std::string ref = rest["$ref"];
        rest.erase("$ref");
        const json* t = resolve(ref, ptr);
        if (!t) return false;
        if (!add(*t, d + 1)) return false;
      }
      flat.push_back(rest);
      return true;
    };
    for (const json& s : parts)
      if (!add(s, depth)) return std::nullopt;
    json m = json::object();
    std::vector<json> norm;  // const as a one-value enum
    for (const json& s : flat) {
      if (s.is_boolean()) {
        if (!s.get<bool>()) return json(false);
        continue;
      }
      json c = s;
      if (c.contains("const")) {
        json v = c["const"];
        c.erase("const");
        if (c.contains("enum")) {
          json f = json::array();
          for (auto& e : c["enum"])
            if (e == v) f.push_back(e);
          c["enum"] = f;
        } else {
          c["enum"] = json::array({v});
        }
      }
      norm.push_back(std::move(c));
    }
    std::vector<const json*> objs;
    for (const json& c : norm) objs.push_back(&c);
    bool have_props = false, have_patterns = false;
    int n_with_objects = 0;
    for (const json* s : objs) {
      bool o = s->contains("properties") || s->contains("additionalProperties") || s->contains("patternProperties");
      n_with_objects += o;
      have_props |= s->contains("properties");
      have_patterns |= s->contains("patternProperties");
    }
    if (have_patterns && n_with_objects > 1) {
      error(ErrorCode::unsupported, ptr, "unsupported keyword 'allOf' (merging patternProperties with other object keywords)");
      return std::nullopt;
    }
    // Object keywords: each key gets the conjunction of what each part says about it.
    if (n_with_objects > 1) {
      std::vector<std::string> names;
      for (const json* s : objs)
        if (s->contains("properties") && (*s)["properties"].is_object())
          for (auto& [k, v] : (*s)["properties"].items())
            if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
      json props = json::object();
      for (const std::string& k : names) {
        json all = json::array();
        for (const json* s : objs) {
          if (s->contains("properties") && (*s)["properties"].contains(k)) all.push_back((*s)["properties"][k]);
          else if (s->contains("additionalProperties")) all.push_back((*s)["additionalProperties"]);
        }
        props[k] = all.size() == 1 ? all[0] : json{{"allOf", all}};
      }
      json add_all = json::array();
      for (const json* s : objs)
        if (s->contains("additionalProperties")) add_all.push_back((*s)["additionalProperties"]);
      m["properties"] = props;
      if (!add_all.empty()) m["additionalProperties"] = add_all.size() == 1 ? add_all[0] : json{{"allOf", add_all}};
    }
    (void)have_props;
    // Array keywords: index i gets the conjunction of each part's prefixItems[i] or items.
    int n_with_arrays = 0;
    size_t max_prefix = 0;
    for (const json* s : objs) {
      n_with_arrays += s->contains("prefixItems") || s->contains("items");
      if (s->contains("prefixItems") && (*s)["prefixItems"].is_array()) max_prefix = std::max(max_prefix, (*s)["prefixItems"].size());
    }
    if (n_with_arrays > 1) {
      json prefix = json::array();
      for (size_t i = 0; i < max_prefix; ++i) {
        json all = json::array();
        for (const json* s : objs) {
          const bool has_prefix = s->contains("prefixItems") && (*s)["prefixItems"].is_array();
          if (has_prefix && i < (*s)["prefixItems"].size()) all.push_back((*s)["prefixItems"][i]);
          else if (s->contains("items")) all.push_back((*s)["items"]);
        }
        prefix.push_back(all.empty() ? json(true) : all.size() == 1 ? all[0] : json{{"allOf", all}});
      }
      json items_all = json::array();
      for (const json* s : objs)
        if (s->contains("items")) items_all.push_back((*s)["items"]);
      if (max_prefix > 0) m["prefixItems"] = prefix;
      if (!items_all.empty()) m["items"] = items_all.size() == 1 ? items_all[0] : json{{"allOf", items_all}};
    }
    auto num = [](const json& v) { return v.get<double>(); };
    for (const json* s : objs) {
      for (auto& [k, v] : s->items()) {
        if (kAnnotations.count(k)) continue;
        if (k == "unevaluatedProperties" || k == "unevaluatedItems") {
          error(ErrorCode::unsupported, ptr, "unsupported keyword '" + k + "' (inside allOf/$ref)");
          return std::nullopt;
        }
        if (n_with_objects > 1 && (k == "properties" || k == "additionalProperties")) continue;
        if (n_with_arrays > 1 && (k == "prefixItems" || k == "items")) continue;
        if (!m.contains(k)) {
          if (k == "pattern") { m["pattern"] = json::array({v}); continue; }
          if (k == "type") { m["type"] = v.is_string() ? json::array({v}) : v; continue; }
          m[k] = v;
          continue;
        }
        json& cur = m[k];
        if (k == "type") {
          json t = v.is_string() ? json::array({v}) : v, out = json::array();
          for (auto& a : cur)
            for (auto& b : t) {
              if (a == b) out.push_back(a);
              else if (a == "number" && b == "integer") out.push_back(b);
              else if (a == "integer" && b == "number") out.push_back(a);
            }
          cur = out;
        } else if (k == "required") {
          for (auto& r : v)
            if (std::find(cur.begin(), cur.end(), r) == cur.end()) cur.push_back(r);
        } else if (k == "properties") {
          for (auto& [pk, pv] : v.items()) cur[pk] = cur.contains(pk) ? json{{"allOf", json::array({cur[pk], pv})}} : pv;
        } else if (k == "minLength" || k == "minItems" || k == "minimum" || k == "exclusiveMinimum") {
          if (v.is_number() && cur.is_number() && num(v) > num(cur)) cur = v;
        } else if (k == "maxLength" || k == "maxItems" || k == "maximum" || k == "exclusiveMaximum") {
          if (v.is_number() && cur.is_number() && num(v) < num(cur)) cur = v;
        } else if (k == "pattern") {
          cur.push_back(v);
        } else if (k == "enum") {
          json f = json::array();
          for (auto& e : cur)
            if (std::find(v.begin(), v.end(), e) != v.end()) f.push_back(e);
          cur = f;
        } else if (k == "additionalProperties" || k == "propertyNames") {
          cur = json{{"allOf", json::array({cur, v})}};
        } else if (k == "format" && cur == v) {
        } else if (k == "uniqueItems" && cur == v) {
        } else {
          error(ErrorCode::unsupported, ptr, "unsupported keyword 'allOf' (cannot merge two '" + k + "' keywords)");
          return std::nullopt;
        }
      }
    }
    return m;
  }

  // ---- the main entry ------------------------------------------------------------------------------
  ExprId compile(const json& s, const std::string& ptr, int depth) {
    if (depth > 128) { error(ErrorCode::unsupported, ptr, "schema nesting deeper than 128"); return ExprPool::kEmpty; }
    if (s.is_boolean()) return s.get<bool>() ? any_value() : ExprPool::kEmpty;
    if (!s.is_object()) { error(ErrorCode::invalid_argument, ptr, "schema must be an object or a boolean"); return ExprPool::kEmpty; }
    // unevaluatedProperties / unevaluatedItems in a schema without applicators see exactly what
    // additionalProperties / items would: rewrite them so (and only then).
    if (s.contains("unevaluatedProperties") || s.contains("unevaluatedItems")) {
      static const char* kApplicators[] = {"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref",
                                           "$dynamicRef", "dependentSchemas", "contains"};
      bool plain = true;
      for (const char* a : kApplicators) plain &= !s.contains(a);
      if (plain) {
        json r = s;
        if (r.contains("unevaluatedProperties")) {
          if (!r.contains("additionalProperties")) r["additionalProperties"] = r["unevaluatedProperties"];
          r.erase("unevaluatedProperties");
        }
        if (r.contains("unevaluatedItems")) {
          if (!r.contains("items")) r["items"] = r["unevaluatedItems"];
          r.erase("unevaluatedItems");
        }
        return compile(r, ptr, depth + 1);
      }
    }
    bool ok = true;
    for (auto& [k, v] : s.items()) {
      if (k == "$id" && !ptr.empty()) { unsupported(ptr, k, "in a subschema: changes the base of references"); ok = false; }
      if (k == "$dynamicAnchor" && !ptr.empty()) { unsupported(ptr, k); ok = false; }
      if (kAnnotations.count(k) || kSupported.count(k)) continue;
      unsupported(ptr, k);
      ok = false;
    }
    if (s.contains("uniqueItems") && s["uniqueItems"] != json(false)) { unsupported(ptr, "uniqueItems", "true"); ok = false; }
    if (!ok) return ExprPool::kEmpty;
    // Pure $ref: a rule call (allows recursion). $ref with siblings and allOf: merged.
    size_t n_constraints = 0;
    for (auto& [k, v] : s.items()) n_constraints += !kAnnotations.count(k);
    if (s.contains("$ref") && s["$ref"].is_string() && n_constraints == 1) return ref_call(s["$ref"], ptr, depth);
    if (s.contains("allOf") || s.contains("$ref")) {
      auto merged = merge({s}, ptr, depth);
      if (!merged) return ExprPool::kEmpty;
      return compile(*merged, ptr, depth + 1);
    }
    if (s.contains("anyOf") || s.contains("oneOf")) return compile_choice(s, ptr, depth);
    if (s.contains("enum") || s.contains("const")) return compile_enum(s, ptr, depth);
    if (s.contains("not")) return compile_not(s, ptr, depth);
    return compile_types(s, ptr, depth);
  }

  ExprId compile_choice(const json& s, const std::string& ptr, int depth) {
    const bool one = s.contains("oneOf");
    if (one && s.contains("anyOf")) {
      json rest = s;
      rest.erase("oneOf");
      json outer = json{{"allOf", json::array({rest, json{{"oneOf", s["oneOf"]}}})}};
      (void)outer;
      unsupported(ptr, "oneOf", "together with anyOf");
      return ExprPool::kEmpty;
    }
    const char* kw = one ? "oneOf" : "anyOf";
    const json& list = s[kw];
    if (!list.is_array() || list.empty()) { error(ErrorCode::invalid_argument, ptr + "/" + kw, std::string(kw) + " must be a non-empty array"); return ExprPool::kEmpty; }
    json rest = s;
    rest.erase(kw);
    bool rest_empty = true;
    for (auto& [k, v] : rest.items()) rest_empty &= kAnnotations.count(k) > 0;
    std::vector<ExprId> branches;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string bp = ptr + "/" + kw + "/" + std::to_string(i);
      if (rest_empty) {
        branches.push_back(compile(list[i], bp, depth + 1));
      } else {
        auto merged = merge({rest, list[i]}, bp, depth);
        if (!merged) return ExprPool::kEmpty;
        branches.push_back(compile(*merged, bp, depth + 1));
      }
    }
    if (!one || branches.size() == 1) return p_.alt(branches);
    // oneOf: exactly one branch. Exact with conj/neg when the branches are call-free; otherwise only
    // when their first bytes (the JSON types) are disjoint.
    bool call_free = true;
    for (ExprId b : branches) call_free &= !p_.node(b).has_calls;
    if (call_free) {
      std::vector<ExprId> out;
      for (size_t i = 0; i < branches.size(); ++i) {
        std::vector<ExprId> others;
        for (size_t j = 0; j < branches.size(); ++j)
          if (j != i) others.push_back(branches[j]);
        out.push_back(p_.conj(branches[i], p_.neg(p_.alt(others))));
      }
      return p_.alt(out);
    }
    std::vector<ByteSet> firsts;
    for (ExprId b : branches) firsts.push_back(first_bytes(b));
    for (size_t i = 0; i < firsts.size(); ++i)
      for (size_t j = i + 1; j < firsts.size(); ++j) {
        ByteSet both;
        for (int w = 0; w < 4; ++w) both.w[w] = firsts[i].w[w] & firsts[j].w[w];
        if (!both.empty()) {
          unsupported(ptr, "oneOf", "branches " + std::to_string(i) + " and " + std::to_string(j) + " may overlap");
          return ExprPool::kEmpty;
        }
      }
    return p_.alt(branches);
  }

  // Bytes a value of e may start with (calls: through their rule bodies).
  ByteSet first_bytes(ExprId e) {
    ByteSet out;
    std::set<uint32_t> seen_rules;
    std::function<void(ExprId)> go = [&](ExprId x) {
      std::vector<uint32_t> sets, calls, tokens;
      bool any = false;
      p_.first_symbols(x, &sets, &calls, &tokens, &any);
      if (any) out = ~ByteSet();
      for (uint32_t si : sets) out = out | p_.byte_set(si);
      for (uint32_t q : calls)
        if (seen_rules.insert(q).second) go(g_.rules[q].body);
    };
    go(e);
    return out;
  }

  ExprId compile_not(const json& s, const std::string& ptr, int depth) {
    json rest = s;
    json n = rest["not"];
    rest.erase("not");
    // not true / not {} rejects everything; not false changes nothing.
    bool n_trivial = n.is_boolean() || (n.is_object() && std::all_of(n.items().begin(), n.items().end(),
                                                                      [](const auto& kv) { return kAnnotations.count(kv.key()) > 0; }));
    if (n_trivial && (n == json(false))) return compile(rest, ptr, depth + 1);
    if (n_trivial) return ExprPool::kEmpty;
    ExprId pos = compile(rest, ptr, depth + 1);
    // A schema that only restricts the type: remove those types.
    if (n.is_object() && n.size() == 1 && n.contains("type")) {
      json t = n["type"].is_string() ? json::array({n["type"]}) : n["type"];
      json keep = json::array();
      json have = rest.contains("type") ? (rest["type"].is_string() ? json::array({rest["type"]}) : rest["type"]) : json(kTypes);
      for (auto& ty : have) {
        bool drop = std::find(t.begin(), t.end(), ty) != t.end() ||
                    (ty == "integer" && std::find(t.begin(), t.end(), "number") != t.end());
        if (!drop) keep.push_back(ty);
      }
      bool number_minus_integer = std::find(t.begin(), t.end(), "integer") != t.end() &&
                                  std::find(keep.begin(), keep.end(), "number") != keep.end();
      if (!number_minus_integer) {
        if (keep.empty()) return ExprPool::kEmpty;
        rest["type"] = keep;
        return compile(rest, ptr, depth + 1);
      }
    }
    // Only the positive side's types matter: restrict the negated schema to them (keeps it call-free
    // when they are scalar types).
    if (rest.contains("type")) {
      auto restricted = merge({n, json{{"type", rest["type"]}}}, ptr + "/not", depth);
      if (restricted) n = *restricted;
    }
    ExprId negated = compile(n, ptr + "/not", depth + 1);
    if (p_.node(pos).has_calls || p_.node(negated).has_calls) {
      unsupported(ptr, "not", "only of schemas without objects/arrays of unbounded depth, or of types");
      return ExprPool::kEmpty;
    }
    return p_.conj(pos, p_.neg(negated));
  }

  ExprId compile_enum(const json& s, const std::string& ptr, int depth) {
    json rest = s;
    std::vector<json> values;
    if (s.contains("const")) values.push_back(s["const"]);
    if (s.contains("enum")) {
      if (!s["enum"].is_array()) { error(ErrorCode::invalid_argument, ptr + "/enum", "enum must be an array"); return ExprPool::kEmpty; }
      if (s.contains("const")) {
        std::vector<json> keep;
        for (auto& v : s["enum"])
          if (v == s["const"]) keep.push_back(v);
        values = keep;
      } else {
        for (auto& v : s["enum"]) values.push_back(v);
      }
    }
    rest.erase("const");
    rest.erase("enum");
    ExprId constraint = compile(rest, ptr, depth + 1);
    uint32_t rule = g_.add_rule("enum " + ptr);
    pending_.push_back(PendingEnum{rule, std::move(values), constraint});
    return p_.call(rule);
  }

  // Enum values are kept when the rest of the schema accepts them (checked with the grammar itself).
  void finish_enums() {
    if (pending_.empty() || !errors_.empty()) return;
    // One check grammar for all: root = <[i]> constraint_i, the special token i selecting the enum.
    std::vector<std::string> names;
    std::vector<uint32_t> ids;
    Grammar tmp = g_;
    std::vector<ExprId> alts;
    for (uint32_t i = 0; i < pending_.size(); ++i) {
      names.push_back("<e" + std::to_string(i) + ">");
      ids.push_back(i);
      alts.push_back(tmp.pool.seq(tmp.pool.token(i), pending_[i].constraint));
    }
    tmp.root = tmp.add_rule("enum check", tmp.pool.alt(alts));
    // Special tokens the enclosing grammar names (a turn grammar's role tokens) must resolve too, although the
    // check never reaches them.
    for (const std::string& spelling : tmp.named_tokens) {
      ids.push_back(static_cast<uint32_t>(names.size()));
      names.push_back(spelling);
    }
    auto vocab = Vocab::build(VocabView{names, ids, {}});
    auto cg = ::glm::grammar::compile(std::move(tmp), vocab, CompileOptions{.warm_token_caches = false});  // advanced only
    if (!cg) { error(ErrorCode::internal, "", cg.error().message); return; }
    for (uint32_t i = 0; i < pending_.size(); ++i) {
      const PendingEnum& pe = pending_[i];
      std::vector<std::string> keep;
      for (const json& v : pe.values)
        for (const std::string& text : literal_forms(v, layout_)) {
          Matcher m(*cg);
          if (m.advance(static_cast<int32_t>(i)) && m.advance_bytes(text) && m.is_accepting()) keep.push_back(text);
        }
      g_.rules[pe.rule].body = p_.literal_set(keep);
    }
  }

  // ---- types -----------------------------------------------------------------------------------------
  ExprId compile_types(const json& s, const std::string& ptr, int depth) {
    std::vector<std::string> types;
    if (s.contains("type")) {
      const json& t = s["type"];
      if (t.is_string()) types.push_back(t);
      else if (t.is_array()) for (auto& x : t) if (x.is_string()) types.push_back(x);
      for (auto& x : types)
        if (std::find(kTypes.begin(), kTypes.end(), x) == kTypes.end()) {
          error(ErrorCode::invalid_argument, ptr + "/type", "unknown type '" + x + "'");
          return ExprPool::kEmpty;
        }
    } else {
      types = kTypes;
    }
    auto has = [&](const char* t) { return std::find(types.begin(), types.end(), t) != types.end(); };
    std::vector<ExprId> alts;
    if (has("null")) alts.push_back(p_.literal("null"));
    if (has("boolean")) alts.push_back(p_.alt(p_.literal("true"), p_.literal("false")));
    if (has("number")) alts.push_back(compile_number(s, ptr, false));
    else if (has("integer")) alts.push_back(compile_number(s, ptr, true));
    if (has("string")) alts.push_back(compile_string(s, ptr));
    if (has("array")) alts.push_back(compile_array(s, ptr, depth));
    if (has("object")) alts.push_back(compile_object(s, ptr, depth));
    return p_.alt(alts);
  }

  std::optional<DecimalBound> bound(const json& s, const std::string& ptr, const char* kw, bool strict) {
    if (!s.contains(kw)) return std::nullopt;
    if (!s[kw].is_number()) { error(ErrorCode::invalid_argument, ptr + "/" + kw, std::string(kw) + " must be a number"); return std::nullopt; }
    auto b = decimal_from_text(s[kw].dump(), strict);
    if (!b) error(ErrorCode::unsupported, ptr + "/" + kw, "bound out of the supported range");
    return b;
  }
  static int cmp_bound(const DecimalBound& a, const DecimalBound& b) {  // compares the values
    auto mag = [](const DecimalBound& x, const DecimalBound& y) {
      if (x.int_digits.size() != y.int_digits.size()) return x.int_digits.size() < y.int_digits.size() ? -1 : 1;
      if (x.int_digits != y.int_digits) return x.int_digits < y.int_digits ? -1 : 1;
      if (x.frac_digits != y.frac_digits) return x.frac_digits < y.frac_digits ? -1 : 1;
      return 0;
    };
    if (a.negative != b.negative) return a.negative ? -1 : 1;
    int m = mag(a, b);
    return a.negative ? -m : m;
  }

  ExprId compile_number(const json& s, const std::string& ptr, bool integer_only) {
    auto lo = bound(s, ptr, "minimum", false), xlo = bound(s, ptr, "exclusiveMinimum", true);
    auto hi = bound(s, ptr, "maximum", false), xhi = bound(s, ptr, "exclusiveMaximum", true);
    // The tighter of each pair.
    if (xlo && (!lo || cmp_bound(*xlo, *lo) >= 0)) lo = xlo;
    if (xhi && (!hi || cmp_bound(*xhi, *hi) <= 0)) hi = xhi;
    return json_number_expr(p_, lo, hi, integer_only);
  }

  std::optional<uint32_t> count(const json& s, const std::string& ptr, const char* kw) {
    if (!s.contains(kw)) return std::nullopt;
    const json& v = s[kw];
    if (!v.is_number() || v.get<double>() < 0) { error(ErrorCode::invalid_argument, ptr + "/" + kw, std::string(kw) + " must be a non-negative integer"); return 0; }
    double d = v.get<double>();
    if (d > 1e9) return kInf - 1;
    return static_cast<uint32_t>(d);
  }

  ExprId compile_string(const json& s, const std::string& ptr) {
    uint32_t lo = count(s, ptr, "minLength").value_or(0);
    uint32_t hi = count(s, ptr, "maxLength").value_or(kInf);
    std::vector<ExprId> parts{p_.repeat(str_char(), lo, hi)};
    if (s.contains("pattern")) {
      json pats = s["pattern"].is_array() ? s["pattern"] : json::array({s["pattern"]});
      for (auto& pat : pats) {
        if (!pat.is_string()) { error(ErrorCode::invalid_argument, ptr + "/pattern", "pattern must be a string"); continue; }
        auto re = regex_to_expr(p_, pat.get<std::string>(), RegexMode::json_string, true);
        if (!re) { error(re.error().code, ptr + "/pattern", re.error().message); continue; }
        parts.push_back(*re);
      }
    }
    if (s.contains("format")) {
      if (!s["format"].is_string()) {
        error(ErrorCode::invalid_argument, ptr + "/format", "format must be a string");
      } else {
        auto f = json_format_expr(p_, s["format"]);
        if (!f) unsupported(ptr, "format", f.error().message);
        else parts.push_back(*f);
      }
    }
    return p_.seq({quote(), p_.conj(parts), quote()});
  }

  ExprId compile_array(const json& s, const std::string& ptr, int depth) {
    uint32_t lo = count(s, ptr, "minItems").value_or(0);
    uint32_t hi = count(s, ptr, "maxItems").value_or(kInf);
    std::vector<ExprId> prefix;
    if (s.contains("prefixItems")) {
      if (!s["prefixItems"].is_array()) { error(ErrorCode::invalid_argument, ptr + "/prefixItems", "prefixItems must be an array"); return ExprPool::kEmpty; }
      for (size_t i = 0; i < s["prefixItems"].size(); ++i)
        prefix.push_back(compile(s["prefixItems"][i], ptr + "/prefixItems/" + std::to_string(i), depth + 1));
    }
    ExprId rest = s.contains("items") ? compile(s["items"], ptr + "/items", depth + 1) : any_value();
    const uint32_t k = static_cast<uint32_t>(prefix.size());
    ExprId comma = item_sep();
    // list(i): the elements from index i on (a comma before each when i > 0).
    ExprId tail;
    {
      uint32_t rlo = lo > k ? lo - k : 0;
      uint32_t rhi = hi == kInf ? kInf : (hi > k ? hi - k : 0);
      if (rest == ExprPool::kEmpty) rhi = 0;
      if (rlo > rhi) tail = ExprPool::kEmpty;
      else if (k > 0) tail = p_.repeat(p_.seq(comma, rest), rlo, rhi);
      else if (rhi == 0) tail = ExprPool::kEps;
      else {
        ExprId more = p_.repeat(p_.seq(comma, rest), rlo > 0 ? rlo - 1 : 0, rhi == kInf ? kInf : rhi - 1);
        ExprId some = p_.seq(rest, more);
        tail = rlo == 0 ? p_.opt(some) : some;
      }
    }
    ExprId list = tail;
    for (uint32_t i = k; i-- > 0;) {
      ExprId elem = i > 0 ? p_.seq(comma, prefix[i]) : prefix[i];
      ExprId with = i < hi ? p_.seq(elem, list) : ExprPool::kEmpty;
      list = i >= lo ? p_.alt(with, ExprPool::kEps) : with;
    }
    return p_.seq({p_.byte('['), list, p_.byte(']')});
  }

  // The quoted key expression of a JSON Schema string schema (propertyNames), or kInf when absent.
  ExprId compile_object(const json& s, const std::string& ptr, int depth) {
    if (s.contains("properties") && !s["properties"].is_object()) { error(ErrorCode::invalid_argument, ptr + "/properties", "properties must be an object"); return ExprPool::kEmpty; }
    std::vector<std::string> names;
    std::map<std::string, json> prop_schema;
    if (s.contains("properties"))
      for (auto& [k, v] : s["properties"].items()) { names.push_back(k); prop_schema[k] = v; }
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) { error(ErrorCode::invalid_argument, ptr + "/required", "required must be an array"); return ExprPool::kEmpty; }
      for (auto& r : s["required"]) if (r.is_string()) required.insert(r);
    }
    json additional = s.contains("additionalProperties") ? s["additionalProperties"] : json(true);
    std::vector<std::pair<std::string, json>> patterns;
    if (s.contains("patternProperties")) {
      if (!s["patternProperties"].is_object()) { error(ErrorCode::invalid_argument, ptr + "/patternProperties", "patternProperties must be an object"); return ExprPool::kEmpty; }
      for (auto& [k, v] : s["patternProperties"].items()) patterns.push_back({k, v});
      if (patterns.size() > 3) { unsupported(ptr, "patternProperties", "more than 3 patterns"); return ExprPool::kEmpty; }
    }
    std::vector<ExprId> pat_keys;  // quoted-key expressions
    for (size_t i = 0; i < patterns.size(); ++i) {
      auto re = regex_to_expr(p_, patterns[i].first, RegexMode::json_string, true);
      if (!re) { error(re.error().code, ptr + "/patternProperties", re.error().message); return ExprPool::kEmpty; }
      pat_keys.push_back(p_.seq({quote(), *re, quote()}));
    }
    ExprId name_filter = kInf;  // propertyNames as a quoted-key expression
    if (s.contains("propertyNames")) {
      json pn = s["propertyNames"];
      if (pn.is_object() && !pn.contains("type")) pn["type"] = "string";
      ExprId e = compile(pn, ptr + "/propertyNames", depth + 1);
      if (p_.node(e).has_calls) { unsupported(ptr, "propertyNames", "with enum/const or references"); return ExprPool::kEmpty; }
      name_filter = e;
    }
    for (const std::string& r : required)
      if (!prop_schema.count(r)) names.push_back(r);
    // What a key must satisfy, and the schema its value follows.
    auto key_matches = [&](ExprId key_expr, const std::string& quoted) {
      ExprId d = key_expr;
      for (unsigned char c : quoted) { d = p_.deriv(d, sym_byte(c)); if (d == ExprPool::kEmpty) return false; }
      return p_.nullable(d);
    };
    struct Entry { ExprId kv; bool required; };
    std::vector<Entry> entries;
    for (const std::string& name : names) {
      std::string quoted = json(name).dump();
      std::string vp = ptr + "/properties/" + escape_pointer(name);
      json all = json::array();
      if (prop_schema.count(name)) all.push_back(prop_schema[name]);
      bool matched_pattern = false;
      for (size_t i = 0; i < patterns.size(); ++i)
        if (key_matches(pat_keys[i], quoted)) { all.push_back(patterns[i].second); matched_pattern = true; }
      if (!prop_schema.count(name) && !matched_pattern) all.push_back(additional);
      ExprId value;
      if (all.size() == 1) {
        value = compile(all[0], vp, depth + 1);
      } else {
        auto merged = merge(std::vector<json>(all.begin(), all.end()), vp, depth);
        value = merged ? compile(*merged, vp, depth + 1) : ExprPool::kEmpty;
      }
      bool name_ok = name_filter == kInf || key_matches(name_filter, quoted);
      if (!name_ok) value = ExprPool::kEmpty;
      bool req = required.count(name) > 0;
      if (value == ExprPool::kEmpty && req) return ExprPool::kEmpty;  // the object cannot exist
      entries.push_back(Entry{p_.seq({p_.literal(quoted), key_sep(), value}), req});
    }
    // Additional members: keys outside `names`, split by the patterns they match.
    std::vector<std::string> quoted_names;
    for (auto& n : names) quoted_names.push_back(json(n).dump());
    ExprId not_declared = p_.neg(p_.literal_set(quoted_names));
    std::vector<ExprId> extra;
    const size_t np = patterns.size();
    for (uint32_t mask = 0; mask < (1u << np); ++mask) {
      std::vector<ExprId> key_parts{any_string(), not_declared};
      if (name_filter != kInf) key_parts.push_back(name_filter);
      json all = json::array();
      for (size_t i = 0; i < np; ++i) {
        if (mask & (1u << i)) { key_parts.push_back(pat_keys[i]); all.push_back(patterns[i].second); }
        else key_parts.push_back(p_.neg(pat_keys[i]));
      }
      if (mask == 0) all.push_back(additional);
      if (all.size() == 1 && all[0] == json(false)) continue;
      ExprId value;
      std::string vp = ptr + (mask == 0 ? "/additionalProperties" : "/patternProperties");
      if (all.size() == 1) value = compile(all[0], vp, depth + 1);
      else {
        auto merged = merge(std::vector<json>(all.begin(), all.end()), vp, depth);
        value = merged ? compile(*merged, vp, depth + 1) : ExprPool::kEmpty;
      }
      if (value == ExprPool::kEmpty) continue;
      extra.push_back(p_.seq({p_.conj(key_parts), key_sep(), value}));
    }
    ExprId add = p_.alt(extra);
    ExprId comma = item_sep();
    // after(i): members from entry i on, something already written; first(i): nothing written yet.
    const size_t n = entries.size();
    ExprId after = p_.star(p_.seq(comma, add));
    ExprId first = add == ExprPool::kEmpty ? ExprPool::kEps : p_.opt(p_.seq(add, after));
    for (size_t i = n; i-- > 0;) {
      const Entry& e = entries[i];
      ExprId with_after = p_.seq({comma, e.kv, after});
      ExprId with_first = p_.seq(e.kv, after);
      if (e.required) {
        after = with_after;
        first = with_first;
      } else {
        ExprId new_after = p_.alt(with_after, after);
        first = p_.alt(with_first, first);
        after = new_after;
      }
    }
    return p_.seq({p_.byte('{'), first, p_.byte('}')});
  }

  struct PendingEnum {
    uint32_t rule;
    std::vector<json> values;
    ExprId constraint;
  };

  Grammar& g_;
  ExprPool& p_;
  const json& root_;
  JsonLayout layout_;
  std::vector<std::string> errors_;
  ErrorCode error_code_ = ErrorCode::unsupported;
  std::map<std::string, uint32_t> ref_rules_;
  uint32_t any_rule_ = kInf;
  std::vector<PendingEnum> pending_;
};

}  // namespace

Result<ExprId> json_schema_to_expr(Grammar& grammar, const json& schema, JsonLayout layout) {
  return SchemaCompiler(grammar, schema, layout).run();
}

Result<Grammar> json_schema_to_grammar(const json& schema) {
  Grammar g;
  uint32_t root = g.add_rule("root");
  auto e = json_schema_to_expr(g, schema);
  if (!e) return e.take_error();
  g.rules[root].body = *e;
  g.root = root;
  return g;
}

Result<Grammar> json_schema_text_to_grammar(std::string_view text) {
  json schema;
  try {
    schema = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann reports a byte offset; turn it into line:col.
    size_t off = e.byte > 0 ? e.byte - 1 : 0, line = 1, col = 1;
    for (size_t i = 0; i < off && i < text.size(); ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    return make_error(ErrorCode::syntax, std::to_string(line) + ":" + std::to_string(col) + ": schema is not JSON: " + e.what());
  }
  return json_schema_to_grammar(schema);
}

}  // namespace glm::grammar
