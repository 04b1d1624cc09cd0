#include "tools/registry.h"

#include <atomic>
#include <utility>

namespace glm::tools {

ToolResult ToolResult::success(Json content) {
  ToolResult r;
  r.ok = true;
  r.content = std::move(content);
  return r;
}

ToolResult ToolResult::failure(ErrorCode kind, std::string message) {
  ToolResult r;
  r.ok = false;
  r.error = ToolError{kind, std::move(message)};
  return r;
}

Json ToolResult::to_json() const {
  if (ok) return Json{{"ok", true}, {"content", content}};
  return Json{{"ok", false},
              {"error", Json{{"kind", std::string(error_code_name(error.kind))}, {"message", error.message}}}};
}

bool valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

Status ToolRegistry::add(std::shared_ptr<Tool> tool) {
  if (!tool) return make_error(ErrorCode::invalid_argument, "null tool");
  const std::string& name = tool->spec().name;
  if (!valid_tool_name(name))
    return make_error(ErrorCode::invalid_argument, "tool name '" + name + "' must match [A-Za-z0-9_.-]{1,64}");
  if (find(name)) return make_error(ErrorCode::invalid_argument, "tool '" + name + "' is registered twice");
  tools_.push_back(std::move(tool));
  return {};
}

std::shared_ptr<Tool> ToolRegistry::find(std::string_view name) const {
  for (const auto& t : tools_)
    if (t->spec().name == name) return t;
  return nullptr;
}

std::vector<ToolSpec> ToolRegistry::specs() const {
  std::vector<ToolSpec> out;
  out.reserve(tools_.size());
  for (const auto& t : tools_) out.push_back(t->spec());
  return out;
}

namespace {

// The one completion of one call. The first call to fire() posts the result; later ones are dropped. If the
// last copy of the tool's completion is destroyed unfired, the destructor posts an internal error instead.
class OnceCompletion {
 public:
  OnceCompletion(Post post, Completion done) : post_(std::move(post)), done_(std::move(done)) {}
  OnceCompletion(const OnceCompletion&) = delete;
  OnceCompletion& operator=(const OnceCompletion&) = delete;
  ~OnceCompletion() {
    if (!fired_.exchange(true))
      deliver(ToolResult::failure(ErrorCode::internal, "the tool dropped its completion without a result"));
  }

  void fire(ToolResult r) {
    if (fired_.exchange(true)) return;  // completes exactly once
    deliver(std::move(r));
  }

 private:
  void deliver(ToolResult r) {
    post_([done = std::move(done_), r = std::move(r)]() mutable { done(std::move(r)); });
  }

  Post post_;
  Completion done_;
  std::atomic<bool> fired_{false};
};

std::string type_of(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "unknown";
  }
}

bool type_matches(const std::string& want, const Json& v) {
  std::string have = type_of(v);
  if (want == have) return true;
  if (want == "number" && have == "integer") return true;
  if (want == "integer" && v.is_number_float()) {
    double d = v.get<double>();
    return d == static_cast<double>(static_cast<long long>(d));
  }
  return false;
}

Status check_at(const Json& schema, const Json& v, const std::string& ptr, int depth) {
  auto fail = [&](const std::string& what) {
    return Status(make_error(ErrorCode::invalid_argument, "arguments" + ptr + ": " + what));
  };
  if (depth > 64) return fail("nested deeper than 64");
  if (!schema.is_object()) return {};
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    if (t->is_string()) ok = type_matches(t->get<std::string>(), v);
    else if (t->is_array())
      for (const auto& x : *t) ok = ok || (x.is_string() && type_matches(x.get<std::string>(), v));
    else ok = true;
    if (!ok) return fail("expected " + t->dump() + ", got " + type_of(v));
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool found = false;
    for (const auto& x : *e) found = found || x == v;
    if (!found) return fail("not one of " + e->dump());
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && m->is_number() && d < m->get<double>())
      return fail("below the minimum " + m->dump());
    if (auto m = schema.find("maximum"); m != schema.end() && m->is_number() && d > m->get<double>())
      return fail("above the maximum " + m->dump());
  }
  if (v.is_string()) {
    size_t n = v.get_ref<const std::string&>().size();
    if (auto m = schema.find("minLength"); m != schema.end() && m->is_number_unsigned() && n < m->get<size_t>())
      return fail("shorter than " + m->dump());
    if (auto m = schema.find("maxLength"); m != schema.end() && m->is_number_unsigned() && n > m->get<size_t>())
      return fail("longer than " + m->dump());
  }
  if (v.is_array()) {
    if (auto m = schema.find("minItems"); m != schema.end() && m->is_number_unsigned() && v.size() < m->get<size_t>())
      return fail("fewer than " + m->dump() + " items");
    if (auto m = schema.find("maxItems"); m != schema.end() && m->is_number_unsigned() && v.size() > m->get<size_t>())
      return fail("more than " + m->dump() + " items");
    if (auto it = schema.find("items"); it != schema.end() && it->is_object())
      for (size_t i = 0; i < v.size(); ++i) GLM_TRY(check_at(*it, v[i], ptr + "/" + std::to_string(i), depth + 1));
  }
  if (v.is_object()) {
    const Json* props = nullptr;
    if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) props = &*p;
    if (auto r = schema.find("required"); r != schema.end() && r->is_array())
      for (const auto& name : *r)
        if (name.is_string() && !v.contains(name.get<std::string>()))
          return fail("missing required property '" + name.get<std::string>() + "'");
    bool closed = false;
    if (auto a = schema.find("additionalProperties"); a != schema.end() && a->is_boolean()) closed = !a->get<bool>();
    for (auto it = v.begin(); it != v.end(); ++it) {
      const Json* sub = nullptr;
      if (props)
        if (auto p = props->find(it.key()); p != props->end()) sub = &*p;
      if (!sub && closed) return fail("unexpected property '" + it.key() + "'");
      if (sub) GLM_TRY(check_at(*sub, it.value(), ptr + "/" + it.key(), depth + 1));
    }
  }
  return {};
}

}  // namespace

Status check_arguments(const Json& schema, const Json& arguments) { return check_at(schema, arguments, "", 0); }

void ToolRegistry::dispatch(std::string_view name, Json arguments, Post post, Completion done,
                            CallContext context) const {
  auto once = std::make_shared<OnceCompletion>(std::move(post), std::move(done));
  std::shared_ptr<Tool> tool = find(name);
  if (!tool) {
    once->fire(ToolResult::failure(ErrorCode::not_found, "no tool named '" + std::string(name) + "'"));
    return;
  }
  if (Status s = check_arguments(tool->spec().parameters, arguments); !s) {
    once->fire(ToolResult::failure(s.error().code, s.error().message));
    return;
  }
  // The tool's completion holds the once-state (and the tool) until it fires or is dropped.
  tool->invoke(std::move(arguments), std::move(context),
               [once, tool](ToolResult r) mutable { once->fire(std::move(r)); });
}

}  // namespace glm::tools
