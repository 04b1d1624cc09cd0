#include "tools/http/http_tool.h"

#include <cctype>
#include <set>

#include "base/redact.h"
#include "base/utf8.h"

namespace glm::tools::http {

namespace {

Error err(ErrorCode c, std::string m) { return make_error(c, std::move(m)); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The argument names a template refers to, in order.
std::vector<std::string> placeholders(const std::string& tpl) {
  std::vector<std::string> out;
  for (size_t i = 0; i < tpl.size(); ++i) {
    if (tpl[i] != '{') continue;
    size_t j = i + 1;
    while (j < tpl.size() && is_name_char(tpl[j])) ++j;
    if (j < tpl.size() && tpl[j] == '}' && j > i + 1) { out.push_back(tpl.substr(i + 1, j - i - 1)); i = j; }
  }
  return out;
}

std::string arg_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Substitutes {name}; `encode` percent-encodes values. Missing arguments: error when `required`, else "".
Result<std::string> substitute(const std::string& tpl, const Json& args, bool encode, bool required,
                               std::set<std::string>* used) {
  std::string out;
  for (size_t i = 0; i < tpl.size(); ++i) {
    if (tpl[i] == '{') {
      size_t j = i + 1;
      while (j < tpl.size() && is_name_char(tpl[j])) ++j;
      if (j < tpl.size() && tpl[j] == '}' && j > i + 1) {
        std::string name = tpl.substr(i + 1, j - i - 1);
        if (used) used->insert(name);
        if (args.contains(name) && !args[name].is_null()) {
          std::string v = arg_text(args[name]);
          out += encode ? percent_encode(v) : v;
        } else if (required) {
          return err(ErrorCode::invalid_argument, "missing argument \"" + name + "\"");
        }
        i = j;
        continue;
      }
    }
    out += tpl[i];
  }
  return out;
}

bool exact_placeholder(const std::string& s, std::string* name) {
  auto p = placeholders(s);
  if (p.size() == 1 && s == "{" + p[0] + "}") { *name = p[0]; return true; }
  return false;
}

Result<Json> fill_body(const Json& tpl, const Json& args) {
  if (tpl.is_string()) {
    std::string name, s = tpl.get<std::string>();
    if (exact_placeholder(s, &name)) return args.contains(name) ? args[name] : Json();
    auto r = substitute(s, args, false, false, nullptr);
    if (!r) return r.take_error();
    return Json(*r);
  }
  if (tpl.is_object()) {
    Json out = Json::object();
    for (auto it = tpl.begin(); it != tpl.end(); ++it) {
      std::string name;
      if (it->is_string() && exact_placeholder(it->get<std::string>(), &name) && !args.contains(name)) continue;
      auto v = fill_body(*it, args);
      if (!v) return v;
      out[it.key()] = std::move(v).value();
    }
    return out;
  }
  if (tpl.is_array()) {
    Json out = Json::array();
    for (const auto& e : tpl) {
      auto v = fill_body(e, args);
      if (!v) return v;
      out.push_back(std::move(v).value());
    }
    return out;
  }
  return tpl;
}

void redact_json(Json& j, const std::vector<std::string>& secrets) {
  if (j.is_string()) { j = redact(j.get<std::string>(), secrets); return; }
  if (j.is_array()) { for (auto& e : j) redact_json(e, secrets); return; }
  if (j.is_object()) {
    Json out = Json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      Json v = it.value();
      redact_json(v, secrets);
      out[redact(it.key(), secrets)] = std::move(v);
    }
    j = std::move(out);
  }
}

bool credential_header(const std::string& name) {
  std::string l = lower(name);
  return l == "authorization" || l == "cookie" || l.rfind("proxy-", 0) == 0 || l == "x-api-key" || l == "api-key";
}


}  // namespace

std::string truncate_utf8(std::string s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  size_t dropped = s.size() - cut;
  s.resize(cut);
  s += "\n[truncated " + std::to_string(dropped) + " bytes]";
  return s;
}

std::string html_to_text(std::string_view html) {
  std::string out;
  std::string title;
  auto lower_at = [&](size_t i, std::string_view word) {
    if (i + word.size() > html.size()) return false;
    for (size_t k = 0; k < word.size(); ++k)
      if (std::tolower(static_cast<unsigned char>(html[i + k])) != word[k]) return false;
    return true;
  };
  static const std::set<std::string> kBlock{"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5",
                                            "h6", "section", "article", "header", "footer", "table", "blockquote",
                                            "pre", "hr", "title", "dt", "dd", "nav", "main", "aside", "form"};
  size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      if (lower_at(i, "<!--")) {
        size_t e = html.find("-->", i + 4);
        i = e == std::string_view::npos ? html.size() : e + 3;
        continue;
      }
      size_t e = html.find('>', i);
      if (e == std::string_view::npos) break;
      std::string tag;
      size_t k = i + 1;
      bool closing = k < html.size() && html[k] == '/';
      if (closing) ++k;
      while (k < e && (std::isalnum(static_cast<unsigned char>(html[k])))) tag += static_cast<char>(std::tolower(static_cast<unsigned char>(html[k++])));
      i = e + 1;
      if (!closing && (tag == "script" || tag == "style" || tag == "noscript" || tag == "template" || tag == "svg")) {
        std::string end = "</" + tag;
        size_t j = i;
        while (j < html.size() && !lower_at(j, end)) ++j;
        size_t close = html.find('>', j);
        i = close == std::string_view::npos ? html.size() : close + 1;
        continue;
      }
      if (kBlock.count(tag)) out += '\n';
      else if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
      continue;
    }
    if (c == '&') {
      size_t semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        std::string ent(html.substr(i + 1, semi - i - 1));
        std::string rep;
        if (ent == "amp") rep = "&";
        else if (ent == "lt") rep = "<";
        else if (ent == "gt") rep = ">";
        else if (ent == "quot") rep = "\"";
        else if (ent == "apos" || ent == "#39") rep = "'";
        else if (ent == "nbsp") rep = " ";
        else if (ent.size() > 1 && ent[0] == '#') {
          uint32_t cp = 0;
          bool ok = true;
          try {
            cp = (ent[1] == 'x' || ent[1] == 'X') ? std::stoul(ent.substr(2), nullptr, 16) : std::stoul(ent.substr(1));
          } catch (...) { ok = false; }
          if (ok && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) utf8::append(rep, cp);
        }
        if (!rep.empty()) { out += rep; i = semi + 1; continue; }
      }
    }
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    out += c;
    ++i;
  }
  // Collapse whitespace: runs of spaces -> one, blank lines -> at most one.
  std::string clean;
  int newlines = 0;
  for (char ch : out) {
    if (ch == '\n') {
      while (!clean.empty() && clean.back() == ' ') clean.pop_back();
      if (++newlines <= 2 && !clean.empty()) clean += '\n';
      continue;
    }
    if (ch == ' ' && (clean.empty() || clean.back() == ' ' || clean.back() == '\n')) continue;
    newlines = 0;
    clean += ch;
  }
  while (!clean.empty() && (clean.back() == ' ' || clean.back() == '\n')) clean.pop_back();
  (void)title;
  return clean;
}

Result<Json> apply_extract(const Json& body, const Json& extract) {
  try {
    if (extract.is_null()) return body;
    auto at = [&](const Json& v, const std::string& ptr) -> Result<Json> {
      if (ptr.empty()) return v;
      Json::json_pointer p(ptr);
      if (!v.contains(p)) return err(ErrorCode::runtime, "extract: " + ptr + " not found in the response");
      return v.at(p);
    };
    if (extract.is_string()) return at(body, extract.get<std::string>());
    if (!extract.is_object()) return err(ErrorCode::invalid_argument, "extract must be a JSON pointer or an object");
    auto v = at(body, extract.value("pointer", ""));
    if (!v) return v;
    Json value = std::move(v).value();
    auto pick = [&](const Json& item) -> Json {
      if (!extract.contains("fields") || !item.is_object()) return item;
      Json out = Json::object();
      for (const auto& f : extract["fields"]) {
        std::string name = f.get<std::string>();
        if (!name.empty() && name[0] == '/') {
          Json::json_pointer p(name);
          if (item.contains(p)) out[name.substr(name.rfind('/') + 1)] = item.at(p);
        } else if (item.contains(name)) {
          out[name] = item[name];
        }
      }
      return out;
    };
    if (value.is_array()) {
      size_t limit = extract.value("limit", value.size());
      Json out = Json::array();
      for (size_t i = 0; i < value.size() && i < limit; ++i) out.push_back(pick(value[i]));
      return out;
    }
    return pick(value);
  } catch (const std::exception& e) {
    return err(ErrorCode::invalid_argument, std::string("extract: ") + e.what());
  }
}

Status policy_from_settings(const Json& s, AddressPolicy* policy, FetchLimits* limits) {
  try {
    if (s.contains("allow_hosts")) policy->allow_hosts = s["allow_hosts"].get<std::vector<std::string>>();
    if (s.contains("allow_private")) {
      const Json& ap = s["allow_private"];
      if (ap.is_boolean()) policy->allow_all_private = ap.get<bool>();
      else policy->allow_private = ap.get<std::vector<std::string>>();
    }
    if (s.contains("max_bytes")) limits->max_body_bytes = s["max_bytes"].get<size_t>();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid_argument, e.what());
  }
  return policy->validate();
}

Result<HttpToolConfig> config_from_settings(ToolSpec spec, const Json& s, double timeout_s, size_t max_output_bytes,
                                            std::vector<std::string> secrets) {
  HttpToolConfig c;
  c.spec = std::move(spec);
  try {
    c.method = s.value("method", "GET");
    c.url = s.value("url", "");
    if (s.contains("headers"))
      for (auto it = s["headers"].begin(); it != s["headers"].end(); ++it) c.headers.emplace_back(it.key(), it->get<std::string>());
    if (s.contains("query")) c.query = s["query"];
    if (s.contains("body")) c.body = s["body"];
    if (s.contains("extract")) c.extract = s["extract"];
  } catch (const std::exception& e) {
    return err(ErrorCode::invalid_argument, std::string("http tool settings: ") + e.what());
  }
  if (auto st = policy_from_settings(s, &c.policy, &c.limits); !st)
    return err(ErrorCode::invalid_argument, "http tool settings: " + st.error().message);
  if (timeout_s > 0) c.limits.total_timeout_ms = static_cast<long>(timeout_s * 1000);
  if (max_output_bytes > 0) c.max_output_bytes = max_output_bytes;
  c.secrets = std::move(secrets);
  return c;
}

Result<std::shared_ptr<HttpTool>> HttpTool::create(HttpToolConfig c, std::shared_ptr<HttpClient> client) {
  auto bad = [&](std::string m) { return err(ErrorCode::invalid_argument, "http tool \"" + c.spec.name + "\": " + m); };
  static const std::set<std::string> kMethods{"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (!kMethods.count(c.method)) return bad("unsupported method " + c.method);
  if (c.url.empty()) return bad("missing url");
  if (auto st = c.policy.validate(); !st) return bad(st.error().message);
  for (const auto& [k, v] : c.headers) {
    if (auto st = check_header(k, v); !st) return bad(redact(st.error().message, c.secrets));
    bool holds_secret = false;
    for (const auto& s : c.secrets) holds_secret |= (s.size() >= 4 && v.find(s) != std::string::npos);
    if (!placeholders(v).empty() && (credential_header(k) || holds_secret))
      return bad("header " + k + " carries credentials and cannot take {argument} placeholders");
  }
  if (c.query && !c.query->is_object()) return bad("query must be an object of strings");
  if (!c.extract.is_null()) {
    if (auto r = apply_extract(Json::object(), c.extract); !r && r.error().code == ErrorCode::invalid_argument)
      return bad(r.error().message);
  }
  return std::shared_ptr<HttpTool>(new HttpTool(std::move(c), std::move(client)));
}

Result<HttpRequest> HttpTool::build_request(const Json& args) const {
  HttpRequest r;
  r.method = cfg_.method;
  std::set<std::string> used;
  std::string whole;
  if (exact_placeholder(cfg_.url, &whole)) {  // the argument is the whole URL; the policy checks it like any other
    if (!args.contains(whole) || !args[whole].is_string())
      return err(ErrorCode::invalid_argument, "missing argument \"" + whole + "\" (a URL)");
    used.insert(whole);
    r.url = args[whole].get<std::string>();
    for (char c : r.url)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return err(ErrorCode::invalid_argument, "control character or space in the URL");
  } else {
    auto url = substitute(cfg_.url, args, true, true, &used);
    if (!url) return url.take_error();
    r.url = std::move(url).value();
  }
  std::vector<std::pair<std::string, std::string>> params;
  if (cfg_.query) {
    for (auto it = cfg_.query->begin(); it != cfg_.query->end(); ++it) {
      std::string tpl = it->is_string() ? it->get<std::string>() : it->dump(), name;
      if (exact_placeholder(tpl, &name) && (!args.contains(name) || args[name].is_null())) continue;
      auto v = substitute(tpl, args, false, false, &used);
      if (!v) return v.take_error();
      params.emplace_back(it.key(), std::move(v).value());
    }
  } else if (r.method == "GET" || r.method == "DELETE") {
    for (auto it = args.begin(); it != args.end(); ++it)
      if (!used.count(it.key()) && !it->is_null()) params.emplace_back(it.key(), arg_text(*it));
  }
  if (!params.empty()) {
    std::string q;
    for (const auto& [k, v] : params) q += (q.empty() ? "" : "&") + percent_encode(k) + "=" + percent_encode(v);
    size_t hash = r.url.find('#');
    if (hash != std::string::npos) r.url.resize(hash);
    r.url += (r.url.find('?') == std::string::npos ? "?" : "&") + q;
  }
  bool has_ct = false;
  for (const auto& [k, v] : cfg_.headers) {
    auto val = substitute(v, args, false, false, nullptr);
    if (!val) return val.take_error();
    if (auto st = check_header(k, *val); !st) return st.take_error();
    has_ct |= lower(k) == "content-type";
    r.headers.emplace_back(k, std::move(val).value());
  }
  if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    Json body = args;
    if (cfg_.body) {
      auto b = fill_body(*cfg_.body, args);
      if (!b) return b.take_error();
      body = std::move(b).value();
    }
    r.body = body.is_string() ? body.get<std::string>() : body.dump();
    if (!has_ct) r.headers.emplace_back("Content-Type", body.is_string() ? "text/plain; charset=utf-8" : "application/json");
  }
  return r;
}

void HttpTool::invoke(Json arguments, CallContext context, Completion done) {
  auto req = build_request(arguments);
  if (!req) {
    const Error& e = req.error();
    done(ToolResult::failure(e.code, redact(e.message, cfg_.secrets)));
    return;
  }
  size_t max_out = cfg_.max_output_bytes;
  std::vector<std::string> secrets = cfg_.secrets;
  Json extract = cfg_.extract;
  client_->fetch(std::move(req).value(), cfg_.policy, cfg_.limits, context.cancel,
                 [done = std::move(done), max_out, secrets, extract](Result<HttpResponse> r) {
    if (!r) {
      done(ToolResult::failure(r.error().code, redact(r.error().message, secrets)));
      return;
    }
    HttpResponse& resp = *r;
    std::string ct = lower(resp.content_type);
    std::string text = utf8::sanitize(resp.body);
    Json content;
    bool is_json = ct.find("json") != std::string::npos;
    if (is_json) {
      Json parsed = Json::parse(text, nullptr, false);
      if (parsed.is_discarded()) {
        is_json = false;
      } else if (resp.status < 400) {
        auto ex = apply_extract(parsed, extract);
        if (!ex) { done(ToolResult::failure(ex.error().code, ex.error().message)); return; }
        content = std::move(ex).value();
        redact_json(content, secrets);
        std::string dumped = content.dump();
        if (dumped.size() > max_out) content = truncate_utf8(dumped, max_out);
      } else {
        text = parsed.dump();
      }
    }
    if (!is_json || resp.status >= 400) {
      if (ct.find("html") != std::string::npos) text = html_to_text(text);
      text = redact(std::move(text), secrets);
      if (resp.status >= 400) {
        done(ToolResult::failure(ErrorCode::runtime, "HTTP " + std::to_string(resp.status) + ": " + truncate_utf8(text, 512)));
        return;
      }
      content = truncate_utf8(std::move(text), max_out);
    }
    done(ToolResult::success(std::move(content)));
  });
}

}  // namespace glm::tools::http
