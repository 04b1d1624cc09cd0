#include "runtime/config/agent_config.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "base/mapped_file.h"
#include "runtime/config/jsonc.h"

namespace glm::config {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::string type_name(const ojson& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  return "null";
}

// Reads typed fields of one document, collecting diagnostics with positions.
class Reader {
 public:
  Reader(const JsoncDocument& doc, std::string file, Diagnostics* diags, AgentConfig* cfg)
      : doc_(doc), file_(std::move(file)), diags_(diags), cfg_(cfg) {}

  void error(const std::string& ptr, const std::string& msg, bool at_key = false) {
    SourcePos p = doc_.at(at_key ? ptr + "#key" : ptr);
    if (at_key && !doc_.positions.count(ptr + "#key")) p = doc_.at(ptr);
    diags_->push_back(Diagnostic{file_, p.line, p.col, msg});
  }

  // An object being read: remembers which keys were read so the rest can be reported as unknown.
  struct Obj {
    const ojson* j;
    std::string ptr;
    std::set<std::string> seen;
  };

  std::optional<Obj> object(const ojson& j, const std::string& ptr, const std::string& what) {
    if (!j.is_object()) {
      error(ptr, what + " must be an object, not " + type_name(j));
      return std::nullopt;
    }
    return Obj{&j, ptr, {}};
  }

  const ojson* field(Obj& o, const std::string& key, bool required) {
    o.seen.insert(key);
    auto it = o.j->find(key);
    if (it == o.j->end()) {
      if (required) error(o.ptr, "missing required key \"" + key + "\"");
      return nullptr;
    }
    return &*it;
  }
  std::string child(const Obj& o, const std::string& key) { return o.ptr + "/" + pointer_escape(key); }

  // Strings the model never sees get ${VAR} expansion.
  bool str(Obj& o, const std::string& key, std::string* out, bool required = false, bool expand = false) {
    const ojson* v = field(o, key, required);
    if (!v) return false;
    if (!v->is_string()) {
      error(child(o, key), "\"" + key + "\" must be a string, not " + type_name(*v));
      return false;
    }
    *out = expand ? interpolate(v->get<std::string>(), child(o, key)) : v->get<std::string>();
    return true;
  }

  template <class T>
  bool num(Obj& o, const std::string& key, T* out, double lo, double hi, bool integer) {
    const ojson* v = field(o, key, false);
    if (!v) return false;
    if (!v->is_number() || (integer && !v->is_number_integer())) {
      error(child(o, key), "\"" + key + "\" must be " + (integer ? "an integer" : "a number") + ", not " +
                               type_name(*v));
      return false;
    }
    double d = v->get<double>();
    if (d < lo || d > hi) {
      error(child(o, key), "\"" + key + "\" must be between " + fmt(lo) + " and " + fmt(hi));
      return false;
    }
    if (integer) *out = static_cast<T>(v->get<int64_t>());
    else *out = static_cast<T>(d);
    return true;
  }

  bool boolean(Obj& o, const std::string& key, bool* out) {
    const ojson* v = field(o, key, false);
    if (!v) return false;
    if (!v->is_boolean()) {
      error(child(o, key), "\"" + key + "\" must be true or false");
      return false;
    }
    *out = v->get<bool>();
    return true;
  }

  bool one_of(Obj& o, const std::string& key, std::string* out, std::initializer_list<const char*> allowed) {
    std::string s;
    if (!str(o, key, &s)) return false;
    std::string list;
    for (const char* a : allowed) {
      if (s == a) { *out = s; return true; }
      list += list.empty() ? a : std::string(", ") + a;
    }
    error(child(o, key), "\"" + key + "\" must be one of " + list + ", not \"" + s + "\"");
    return false;
  }

  // A path relative to the config's folder; must exist when must_exist.
  bool path(Obj& o, const std::string& key, std::string* out, bool required, bool must_exist, bool dir) {
    std::string s;
    if (!str(o, key, &s, required, /*expand=*/true)) return false;
    fs::path p = fs::path(s).is_absolute() ? fs::path(s) : fs::path(cfg_->dir) / s;
    p = p.lexically_normal();
    if (must_exist) {
      std::error_code ec;
      bool ok = dir ? fs::is_directory(p, ec) : fs::is_regular_file(p, ec);
      if (!ok) {
        error(child(o, key), std::string(dir ? "folder" : "file") + " \"" + s + "\" does not exist (resolved to " +
                                 p.string() + ")");
        return false;
      }
    }
    *out = p.string();
    return true;
  }

  void finish(const Obj& o, const std::string& what) {
    for (auto it = o.j->begin(); it != o.j->end(); ++it)
      if (!o.seen.count(it.key()))
        error(child(o, it.key()), "unknown key \"" + it.key() + "\" in " + what, /*at_key=*/true);
  }

  // A value is a secret when it goes into a header, an API key or a server's environment, or when the variable's
  // name says so (…KEY, …TOKEN, …SECRET, …PASSWORD, …AUTH…). A plain URL such as SEARCH_URL is not: redacting
  // it would hide every result that mentions the service.
  static bool is_secret(const std::string& name, const std::string& ptr) {
    if (ptr.find("/headers/") != std::string::npos || ptr.find("/env/") != std::string::npos ||
        ptr.size() >= 8 && ptr.compare(ptr.size() - 8, 8, "/api_key") == 0)
      return true;
    std::string upper;
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const char* w : {"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "AUTH", "CREDENTIAL", "COOKIE"})
      if (upper.find(w) != std::string::npos) return true;
    return false;
  }

  std::string interpolate(const std::string& s, const std::string& ptr) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, 2, "${") != 0) { out += s[i++]; continue; }
      size_t end = s.find('}', i + 2);
      if (end == std::string::npos) {
        error(ptr, "unterminated ${ in \"" + s.substr(i) + "\"");
        return out + s.substr(i);
      }
      std::string body = s.substr(i + 2, end - i - 2);
      std::string name = body, fallback;
      bool has_default = false;
      if (auto d = body.find(":-"); d != std::string::npos) {
        name = body.substr(0, d);
        fallback = body.substr(d + 2);
        has_default = true;
      }
      const char* v = std::getenv(name.c_str());
      if (v && *v) {
        out += v;
        if (is_secret(name, ptr)) cfg_->secrets.push_back(v);
      } else if (has_default) {
        out += fallback;
      } else {
        error(ptr, "environment variable " + name + " is not set (write ${" + name + ":-default} for a default)");
      }
      i = end + 1;
    }
    return out;
  }

 private:
  static std::string fmt(double d) {
    std::string s = std::to_string(d);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  const JsoncDocument& doc_;
  std::string file_;
  Diagnostics* diags_;
  AgentConfig* cfg_;
};

bool valid_tool_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

// name, description, parameters -> ToolConfig::spec (the order the model sees).
bool read_spec(Reader& r, Reader::Obj& o, ToolConfig* t, const ojson* default_parameters = nullptr,
               const char* default_name = nullptr) {
  bool ok = r.str(o, "name", &t->name, /*required=*/default_name == nullptr);
  if (!ok && default_name) {
    t->name = default_name;
    ok = true;
  }
  if (ok && !valid_tool_name(t->name)) {
    r.error(r.child(o, "name"), "tool name \"" + t->name + "\" must be 1-64 characters of A-Z a-z 0-9 _ . -");
    ok = false;
  }
  std::string description;
  r.str(o, "description", &description);
  const ojson* params = r.field(o, "parameters", default_parameters == nullptr);
  if (params && !params->is_object()) {
    r.error(r.child(o, "parameters"), "\"parameters\" must be a JSON Schema object");
    params = nullptr;
    ok = false;
  }
  if (!params) params = default_parameters;
  t->spec = ojson::object();
  t->spec["name"] = t->name;
  t->spec["description"] = description;
  t->spec["parameters"] = params ? *params : ojson{{"type", "object"}};
  bool side = false;
  if (r.boolean(o, "side_effects", &side)) t->side_effects = side;
  return ok;
}

void read_tool_limits(Reader& r, Reader::Obj& parent, ToolLimits* l) {
  const ojson* v = r.field(parent, "limits", false);
  if (!v) return;
  auto o = r.object(*v, r.child(parent, "limits"), "\"limits\"");
  if (!o) return;
  r.num(*o, "timeout_s", &l->timeout_s, 0.001, 86400, false);
  double mb = 0, kb = 0;
  if (r.num(*o, "memory_mb", &mb, 1, 65536, false)) l->memory_bytes = static_cast<int64_t>(mb * 1024 * 1024);
  if (r.num(*o, "output_kb", &kb, 1, 1 << 20, false)) l->output_bytes = static_cast<int64_t>(kb * 1024);
  r.num(*o, "instructions", &l->instructions, 1000, 1e15, true);
  r.finish(*o, "tool limits");
}

// An object of strings (headers, query, env), each value ${VAR}-interpolated, stored as settings[key].
void read_string_object(Reader& r, Reader::Obj& o, const char* key, ojson* settings) {
  const ojson* h = r.field(o, key, false);
  if (!h) return;
  if (!h->is_object()) { r.error(r.child(o, key), std::string("\"") + key + "\" must be an object of strings"); return; }
  ojson out = ojson::object();
  for (auto it = h->begin(); it != h->end(); ++it) {
    std::string p = r.child(o, key) + "/" + pointer_escape(it.key());
    if (!it->is_string()) { r.error(p, "must be a string"); continue; }
    out[it.key()] = r.interpolate(it->get<std::string>(), p);
  }
  (*settings)[key] = out;
}

void read_tool(Reader& r, const ojson& j, const std::string& ptr, AgentConfig* cfg) {
  auto o = r.object(j, ptr, "a tool");
  if (!o) return;
  std::string type;
  if (!r.one_of(*o, "type", &type, {"lua", "builtin", "http", "mcp"})) {
    if (!j.contains("type")) r.error(ptr, "missing required key \"type\" (lua, builtin, http or mcp)");
    return;
  }
  ToolConfig t;
  t.type = type;
  t.pointer = ptr;
  t.settings = ojson::object();
  if (type == "lua") {
    read_spec(r, *o, &t);
    std::string script;
    if (r.path(*o, "script", &script, true, true, false)) t.settings["script"] = script;
    std::string ws;
    if (r.path(*o, "workspace", &ws, false, true, true)) t.settings["workspace"] = ws;
    if (const ojson* caps = r.field(*o, "capabilities", false)) {
      static const std::set<std::string> known{"json", "re", "log", "time", "workspace", "http"};
      if (!caps->is_array()) r.error(r.child(*o, "capabilities"), "\"capabilities\" must be an array of names");
      else
        for (size_t i = 0; i < caps->size(); ++i)
          if (!(*caps)[i].is_string() || !known.count((*caps)[i].get<std::string>()))
            r.error(r.child(*o, "capabilities") + "/" + std::to_string(i),
                    "unknown capability (json, re, log, time, workspace, http)");
      t.settings["capabilities"] = *caps;
    }
    // The policy of http.request (tools/lua/host_api.h); giving it grants the capability. Checked at build.
    if (const ojson* http = r.field(*o, "http", false)) {
      if (!http->is_object()) r.error(r.child(*o, "http"), "\"http\" must be an object (allow_hosts, allow_private, max_bytes, max_requests)");
      else t.settings["http"] = *http;
    }
    read_tool_limits(r, *o, &t.limits);
    r.finish(*o, "a lua tool");
    cfg->tools.push_back(std::move(t));
    return;
  }
  if (type == "builtin") {
    std::string kind;
    if (!r.one_of(*o, "builtin", &kind, {"search", "workspace"})) {
      if (!j.contains("builtin")) r.error(ptr, "missing required key \"builtin\" (search or workspace)");
      return;
    }
    t.settings["builtin"] = kind;
    if (kind == "search") {
      static const ojson kSearchParams = {{"type", "object"},
                                          {"properties", {{"query", {{"type", "string"}}}}},
                                          {"required", {"query"}}};
      read_spec(r, *o, &t, &kSearchParams, "search");
      std::string corpus;
      if (r.path(*o, "corpus", &corpus, true, true, true)) t.settings["corpus"] = corpus;
      int top_k = 3;
      r.num(*o, "top_k", &top_k, 1, 100, true);
      t.settings["top_k"] = top_k;
      read_tool_limits(r, *o, &t.limits);
      r.finish(*o, "a builtin search tool");
      cfg->tools.push_back(std::move(t));
      return;
    }
    // workspace: one declaration, several tools sharing a root.
    std::string root;
    if (r.path(*o, "root", &root, true, true, true)) t.settings["root"] = root;
    read_tool_limits(r, *o, &t.limits);
    const ojson* list = r.field(*o, "tools", true);
    r.finish(*o, "a builtin workspace");
    if (!list) return;
    if (!list->is_array() || list->empty()) {
      r.error(r.child(*o, "tools"), "\"tools\" must be a non-empty array of workspace tools");
      return;
    }
    static const std::set<std::string> kWorkspaceTools{"list_files", "read_file", "write_file", "replace", "run_tests"};
    for (size_t i = 0; i < list->size(); ++i) {
      std::string tp = r.child(*o, "tools") + "/" + std::to_string(i);
      auto to = r.object((*list)[i], tp, "a workspace tool");
      if (!to) continue;
      ToolConfig wt = t;
      wt.pointer = tp;
      read_spec(r, *to, &wt);
      if (!wt.name.empty() && !kWorkspaceTools.count(wt.name))
        r.error(tp + "/name", "\"" + wt.name + "\" is not a workspace tool (list_files, read_file, write_file, "
                              "replace, run_tests)");
      wt.settings["tool"] = wt.name;
      r.finish(*to, "a workspace tool");
      cfg->tools.push_back(std::move(wt));
    }
    return;
  }
  if (type == "http") {
    read_spec(r, *o, &t);
    std::string method = "GET", url;
    r.one_of(*o, "method", &method, {"GET", "POST", "PUT", "PATCH", "DELETE"});
    t.settings["method"] = method;
    if (r.str(*o, "url", &url, true, true)) t.settings["url"] = url;
    for (const char* key : {"headers", "query"}) read_string_object(r, *o, key, &t.settings);
    for (const char* key : {"body", "extract", "allow_hosts", "allow_private"})
      if (const ojson* v = r.field(*o, key, false)) t.settings[key] = *v;
    int64_t max_bytes = 0;
    if (r.num(*o, "max_bytes", &max_bytes, 1, 1LL << 32, true)) t.settings["max_bytes"] = max_bytes;
    read_tool_limits(r, *o, &t.limits);
    r.finish(*o, "an http tool");
    cfg->tools.push_back(std::move(t));
    return;
  }
  // mcp: a server whose tools (optionally an allowlist) become tools.
  std::string name, command, url;
  if (r.str(*o, "name", &name, true) && !valid_tool_name(name))
    r.error(r.child(*o, "name"), "server name \"" + name + "\" must be 1-64 characters of A-Z a-z 0-9 _ . -");
  t.name = name;
  bool has_cmd = r.str(*o, "command", &command, false, true);
  bool has_url = r.str(*o, "url", &url, false, true);
  if (has_cmd == has_url) r.error(ptr, "an mcp server needs exactly one of \"command\" (stdio) or \"url\" (HTTP)");
  if (has_cmd) t.settings["command"] = command;
  if (has_url) t.settings["url"] = url;
  if (const ojson* a = r.field(*o, "args", false)) {
    ojson args = ojson::array();
    if (!a->is_array()) r.error(r.child(*o, "args"), "\"args\" must be an array of strings");
    else
      for (size_t i = 0; i < a->size(); ++i) {
        std::string p = r.child(*o, "args") + "/" + std::to_string(i);
        if (!(*a)[i].is_string()) r.error(p, "must be a string");
        else args.push_back(r.interpolate((*a)[i].get<std::string>(), p));
      }
    t.settings["args"] = args;
  }
  read_string_object(r, *o, "env", &t.settings);
  // HTTP transport: headers (${VAR} for tokens, redacted like every secret) and the address policy of http tools.
  read_string_object(r, *o, "headers", &t.settings);
  for (const char* key : {"allow_hosts", "allow_private"})
    if (const ojson* v = r.field(*o, key, false)) t.settings[key] = *v;
  if (const ojson* v = r.field(*o, "tools", false)) t.settings["tools"] = *v;
  read_tool_limits(r, *o, &t.limits);
  r.finish(*o, "an mcp server");
  cfg->tools.push_back(std::move(t));
}

void read_model(Reader& r, Reader::Obj& root, AgentConfig* cfg) {
  const ojson* v = r.field(root, "model", false);
  if (!v) return;
  auto o = r.object(*v, "/model", "\"model\"");
  if (!o) return;
  ModelConfig& m = cfg->model;
  r.path(*o, "path", &m.path, false, false, false);
  r.one_of(*o, "backend", &m.backend, {"auto", "cpu", "cuda", "openai"});
  r.num(*o, "context", &m.context, 128, 1 << 24, true);
  r.str(*o, "url", &m.url, false, true);
  r.str(*o, "api_key", &m.api_key, false, true);
  r.str(*o, "model_name", &m.model_name);
  if (m.backend == "openai" && m.url.empty()) r.error("/model", "backend \"openai\" needs \"url\"");
  if (const ojson* s = r.field(*o, "sampling", false)) {
    if (auto so = r.object(*s, "/model/sampling", "\"sampling\"")) {
      SamplingConfig& sc = m.sampling;
      r.num(*so, "temperature", &sc.temperature, 0, 10, false);
      r.num(*so, "top_p", &sc.top_p, 0, 1, false);
      r.num(*so, "top_k", &sc.top_k, 0, 1 << 20, true);
      r.num(*so, "min_p", &sc.min_p, 0, 1, false);
      r.num(*so, "repetition_penalty", &sc.repetition_penalty, 0.01, 10, false);
      r.num(*so, "presence_penalty", &sc.presence_penalty, -10, 10, false);
      r.num(*so, "seed", &sc.seed, 0, 1.8e19, true);
      r.finish(*so, "\"sampling\"");
    }
  }
  r.finish(*o, "\"model\"");
}

void read_limits(Reader& r, Reader::Obj& root, AgentConfig* cfg) {
  const ojson* v = r.field(root, "limits", false);
  if (!v) return;
  auto o = r.object(*v, "/limits", "\"limits\"");
  if (!o) return;
  Limits& l = cfg->limits;
  r.num(*o, "max_steps", &l.max_steps, 1, 100000, true);
  r.num(*o, "max_tool_calls", &l.max_tool_calls, 0, 1000000, true);
  r.num(*o, "max_tokens", &l.max_tokens, 1, 1e12, true);
  r.num(*o, "wall_time_s", &l.wall_time_s, 0.001, 1e7, false);
  r.num(*o, "tool_timeout_s", &l.tool_timeout_s, 0.001, 1e6, false);
  r.num(*o, "max_tool_output_bytes", &l.max_tool_output_bytes, 64, 1LL << 32, true);
  r.num(*o, "max_identical_calls", &l.max_identical_calls, 1, 1000, true);
  r.num(*o, "max_consecutive_errors", &l.max_consecutive_errors, 1, 1000, true);
  r.finish(*o, "\"limits\"");
}

}  // namespace

std::string Diagnostic::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + message;
}

Result<AgentConfig> parse_agent_config(std::string_view text, const std::string& path, Diagnostics* diags) {
  Diagnostics local;
  if (!diags) diags = &local;
  SourcePos at;
  auto doc = parse_jsonc(text, &at);
  if (!doc) {
    // parse_jsonc's message already starts with "LINE:COL: ".
    std::string msg = doc.error().message;
    auto colon = msg.find(": ");
    diags->push_back(Diagnostic{path, at.line, at.col, colon == std::string::npos ? msg : msg.substr(colon + 2)});
    return make_error(ErrorCode::syntax, diags->back().to_string());
  }
  AgentConfig cfg;
  cfg.file = path;
  cfg.dir = fs::path(path).parent_path().string();
  if (cfg.dir.empty()) cfg.dir = ".";
  Reader r(*doc, path, diags, &cfg);
  if (auto root = r.object(doc->value, "", "the agent config")) {
    r.str(*root, "name", &cfg.name, true);
    r.str(*root, "description", &cfg.description);
    r.str(*root, "system", &cfg.system);
    read_model(r, *root, &cfg);
    if (const ojson* tools = r.field(*root, "tools", false)) {
      if (!tools->is_array()) r.error("/tools", "\"tools\" must be an array");
      else
        for (size_t i = 0; i < tools->size(); ++i) read_tool(r, (*tools)[i], "/tools/" + std::to_string(i), &cfg);
    }
    read_limits(r, *root, &cfg);
    r.one_of(*root, "strategy", &cfg.strategy, {"react", "plan"});
    r.one_of(*root, "tool_choice", &cfg.tool_choice, {"auto", "required", "none"});
    r.boolean(*root, "parallel_tool_calls", &cfg.parallel_tool_calls);
    r.one_of(*root, "approval", &cfg.approval, {"never", "side_effects", "always"});
    if (const ojson* s = r.field(*root, "output_schema", false)) {
      if (!s->is_object() && !s->is_boolean()) r.error("/output_schema", "\"output_schema\" must be a JSON Schema");
      else cfg.output_schema = *s;
    }
    if (const ojson* cp = r.field(*root, "context_policy", false)) {
      if (auto o = r.object(*cp, "/context_policy", "\"context_policy\"")) {
        r.one_of(*o, "mode", &cfg.context_policy.mode, {"drop_old_observations", "fail"});
        r.num(*o, "threshold", &cfg.context_policy.threshold, 0.1, 1.0, false);
        r.finish(*o, "\"context_policy\"");
      }
    }
    r.finish(*root, "the agent config");
    std::set<std::string> names;
    for (const auto& t : cfg.tools)
      if (!t.name.empty() && !names.insert(t.name).second) r.error(t.pointer + "/name", "duplicate tool name \"" + t.name + "\"");
    if (cfg.tool_choice == "required" && cfg.tools.empty()) r.error("/tool_choice", "tool_choice \"required\" but no tools");
  }
  if (!diags->empty()) return make_error(ErrorCode::invalid_argument, diags->front().to_string());
  return cfg;
}

Result<AgentConfig> load_agent_config(const std::string& path, Diagnostics* diags) {
  auto text = read_text_file(path);
  if (!text) {
    if (diags) diags->push_back(Diagnostic{path, 0, 0, text.error().message});
    return text.take_error();
  }
  return parse_agent_config(*text, path, diags);
}

}  // namespace glm::config
