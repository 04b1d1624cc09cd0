// tools/http/http_tool.h — a declarative HTTP endpoint as a tool, and the response shaping it applies.
//
//   {"type":"http","name":"search","url":"${SEARCH_URL}/search","query":{"q":"{query}","format":"json"},
//    "extract":{"pointer":"/results","fields":["title","url","content"],"limit":5},"allow_private":["127.0.0.1"]}
//
// Request building (from the model's arguments; only the arguments ever vary, never the policy):
//   url      "{arg}" placeholders, each value percent-encoded (every byte but A-Z a-z 0-9 - . _ ~); a missing
//            argument is invalid_argument. A url that is exactly "{arg}" takes the argument as the whole URL
//            (a fetch-page tool); it goes through the same policy as any URL.
//   query    object name -> template (sent in key order); a parameter whose template is exactly "{arg}" is left out when the
//            argument is absent. Without "query", GET/DELETE send the arguments the URL did not use.
//   body     JSON template: a string exactly "{arg}" becomes the argument's JSON value (key dropped when
//            absent), other strings get text substitution. Without "body", POST/PUT/PATCH send the arguments.
//   headers  from the config only; values may hold "{arg}" except Authorization, Cookie, Proxy-*, and any
//            header whose value holds a secret; Host is refused; CR/LF/NUL in any value refuses the call.
// Response shaping: status >= 400 -> tool error `runtime` ("HTTP 404: ..."); JSON bodies -> `extract`
//   ("/pointer", or {"pointer","fields","limit"}) applied; HTML -> readable text; other text as is (UTF-8
//   sanitized); anything longer than max_output_bytes is cut with "[truncated N bytes]". Every secret value
//   (raw, percent-encoded, base64) is redacted from results and error messages.
// Owns: its config and a shared HttpClient. Threads: invoke() from any thread, never blocks; done runs on the
//   client's transfer thread (or inline for a refused call). Errors: see http_client.h, plus invalid_argument.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "tools/http/http_client.h"
#include "tools/tool.h"

namespace glm::tools::http {

struct HttpToolConfig {
  ToolSpec spec;
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<Json> query;
  std::optional<Json> body;
  Json extract;                      // null: whole body
  AddressPolicy policy;
  FetchLimits limits;
  size_t max_output_bytes = 16384;
  std::vector<std::string> secrets;  // values to redact; headers holding one cannot take placeholders
};

// The policy part of a config object, shared by http tools and the Lua `http` capability: allow_hosts (list),
// allow_private (a list of addresses/CIDR prefixes, or true), max_bytes (decoded body cap). Fields absent keep
// the values already in *policy / *limits. invalid_argument naming the problem.
Status policy_from_settings(const Json& settings, AddressPolicy* policy, FetchLimits* limits);

// From an agent config's http tool settings (method, url, headers, query, body, extract, allow_hosts,
// allow_private (a list, or true), max_bytes). invalid_argument on malformed settings.
Result<HttpToolConfig> config_from_settings(ToolSpec spec, const Json& settings, double timeout_s,
                                            size_t max_output_bytes, std::vector<std::string> secrets);

class HttpTool : public Tool {
 public:
  static Result<std::shared_ptr<HttpTool>> create(HttpToolConfig config, std::shared_ptr<HttpClient> client);
  const ToolSpec& spec() const override { return cfg_.spec; }
  void invoke(Json arguments, CallContext context, Completion done) override;

  // The request the arguments make (exposed for tests).
  Result<HttpRequest> build_request(const Json& arguments) const;

 private:
  HttpTool(HttpToolConfig c, std::shared_ptr<HttpClient> client) : cfg_(std::move(c)), client_(std::move(client)) {}
  HttpToolConfig cfg_;
  std::shared_ptr<HttpClient> client_;
};

// Shaping helpers (pure).
std::string html_to_text(std::string_view html);
Result<Json> apply_extract(const Json& body, const Json& extract);
std::string truncate_utf8(std::string s, size_t max_bytes);  // appends "\n[truncated N bytes]" when cut

}  // namespace glm::tools::http
