#include "model/chat.h"

#include <nlohmann/json.hpp>

#include <variant>

namespace glm::chat {

namespace {

using ojson = nlohmann::ordered_json;

enum class Tok { gmask, sop, system, user, assistant, observation };

const char* tok_text(Tok t) {
  switch (t) {
    case Tok::gmask: return "[gMASK]";
    case Tok::sop: return "<sop>";
    case Tok::system: return "<|system|>";
    case Tok::user: return "<|user|>";
    case Tok::assistant: return "<|assistant|>";
    case Tok::observation: return "<|observation|>";
  }
  return "";
}

int32_t tok_id(const Specials& s, Tok t) {
  switch (t) {
    case Tok::gmask: return s.gmask;
    case Tok::sop: return s.sop;
    case Tok::system: return s.system;
    case Tok::user: return s.user;
    case Tok::assistant: return s.assistant;
    case Tok::observation: return s.observation;
  }
  return -1;
}

// A prompt is a list of segments: a special token or a piece of plain text.
using Segment = std::variant<Tok, std::string>;

constexpr const char* kToolsHeader = "# 可用工具\n\n";
constexpr const char* kToolSuffix = "\n在调用上述函数时，请使用 Json 格式表示调用的参数。";

std::string dump_tool(const ojson& function) {
  // json.dumps(indent=4, ensure_ascii=False): same separators and escapes as nlohmann's dump(4).
  return function.dump(4, ' ', false, ojson::error_handler_t::strict);
}

Result<std::vector<Segment>> build(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                   bool add_generation_prompt) {
  std::vector<Segment> seg{Tok::gmask, Tok::sop};
  if (!tools.empty()) {
    std::string block = kToolsHeader;
    for (size_t i = 0; i < tools.size(); ++i) {
      ojson f = ojson::parse(tools[i].function_json, nullptr, false);
      if (f.is_discarded() || !f.is_object())
        return make_error(ErrorCode::invalid_argument, "tools[" + std::to_string(i) + "] is not a JSON object");
      if (i) block += "\n";
      block += "## " + tools[i].name + "\n\n" + dump_tool(f) + kToolSuffix;
    }
    seg.push_back(Tok::system);
    seg.push_back("\n" + block);
  }
  for (const Message& m : messages) {  // system messages are hoisted to the front
    if (m.role != Role::system) continue;
    seg.push_back(Tok::system);
    seg.push_back("\n" + m.content);
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    switch (m.role) {
      case Role::system: break;
      case Role::user:
        seg.push_back(Tok::user);
        seg.push_back("\n" + m.content);
        break;
      case Role::observation:
        seg.push_back(Tok::observation);
        seg.push_back("\n" + m.content);
        break;
      case Role::assistant:
        if (!m.content.empty() || m.tool_calls.empty()) {
          seg.push_back(Tok::assistant);
          seg.push_back("\n" + m.content);
        }
        for (size_t k = 0; k < m.tool_calls.size(); ++k) {
          const ToolCall& c = m.tool_calls[k];
          auto args = ojson::parse(c.arguments, nullptr, false);
          if (args.is_discarded() || !args.is_object())
            return make_error(ErrorCode::invalid_argument, "messages[" + std::to_string(i) + "].tool_calls[" +
                                                               std::to_string(k) + "].arguments is not a JSON object");
          seg.push_back(Tok::assistant);
          seg.push_back(c.name + "\n" + c.arguments);
        }
        break;
    }
  }
  if (add_generation_prompt) seg.push_back(Tok::assistant);
  return seg;
}

Error malformed(size_t index, const std::string& what) {
  return make_error(ErrorCode::invalid_argument, "tool call " + std::to_string(index + 1) + ": " + what);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One chunk between <|assistant|> separators that does not open with "\n": `NAME\n{json}`.
Result<ToolCall> parse_call(std::string_view chunk, size_t index) {
  size_t b = 0;
  while (b < chunk.size() && is_space(chunk[b]) && chunk[b] != '\n') ++b;
  size_t nl = chunk.find('\n', b);
  if (nl == std::string_view::npos) return malformed(index, "expected 'name\\n{arguments}', found no newline after the name");
  std::string name(chunk.substr(b, nl - b));
  while (!name.empty() && is_space(name.back())) name.pop_back();
  if (name.empty()) return malformed(index, "the tool name is empty");
  if (name.find_first_of("`{}\"") != std::string::npos)
    return malformed(index, "'" + name + "' is not a tool name (it contains ` { } or \")");
  std::string_view rest = chunk.substr(nl + 1);
  size_t e = rest.size();
  while (e > 0 && is_space(rest[e - 1])) --e;
  size_t s = 0;
  while (s < e && is_space(rest[s])) ++s;
  std::string_view args = rest.substr(s, e - s);
  auto j = ojson::parse(args, nullptr, false);
  if (j.is_discarded()) return malformed(index, "arguments of '" + name + "' are not one complete JSON value");
  if (!j.is_object()) return malformed(index, "arguments of '" + name + "' are not a JSON object");
  return ToolCall{std::move(name), std::string(args)};
}

}  // namespace

Result<Specials> specials_of(const Tokenizer& tok) {
  Specials s{};
  const std::pair<const char*, int32_t*> want[] = {
      {"[gMASK]", &s.gmask},         {"<sop>", &s.sop},       {"<|system|>", &s.system}, {"<|user|>", &s.user},
      {"<|assistant|>", &s.assistant}, {"<|observation|>", &s.observation}, {"<|endoftext|>", &s.endoftext}};
  for (const auto& [text, slot] : want) {
    auto id = tok.token_id(text);
    if (!id) return make_error(ErrorCode::invalid_argument, std::string("tokenizer has no ") + text +
                                                                " token: not a GLM-4 chat tokenizer");
    *slot = *id;
  }
  return s;
}

Result<std::string> render_text(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                bool add_generation_prompt) {
  auto seg = build(messages, tools, add_generation_prompt);
  if (!seg) return seg.take_error();
  std::string out;
  for (const Segment& s : *seg) {
    if (const Tok* t = std::get_if<Tok>(&s)) out += tok_text(*t);
    else out += std::get<std::string>(s);
  }
  return out;
}

Result<std::vector<int32_t>> render(const Tokenizer& tok, std::span<const Message> messages,
                                    std::span<const ToolSpec> tools, bool add_generation_prompt) {
  auto sp = specials_of(tok);
  if (!sp) return sp.take_error();
  auto seg = build(messages, tools, add_generation_prompt);
  if (!seg) return seg.take_error();
  std::vector<int32_t> ids;
  for (const Segment& s : *seg) {
    if (const Tok* t = std::get_if<Tok>(&s)) {
      ids.push_back(tok_id(*sp, *t));
    } else {
      GLM_TRY(tok.encode_append(std::get<std::string>(s), glm::Specials::as_text, &ids));
    }
  }
  return ids;
}

namespace {

// Chunks between <|assistant|> separators -> the turn; `stop` is the stop token seen ("" for none).
Result<Turn> turn_from_chunks(const std::vector<std::string>& chunks, std::string_view stop) {
  Turn turn;
  for (const std::string& c : chunks) {
    if (c.empty()) continue;
    if (c[0] == '\n') {
      if (!turn.content.empty()) turn.content += "\n";
      turn.content += c.substr(1);
      continue;
    }
    auto call = parse_call(c, turn.tool_calls.size());
    if (!call) return call.take_error();
    turn.tool_calls.push_back(std::move(call).value());
  }
  if (stop.empty()) turn.finish_reason = "length";
  else if (stop == "<|observation|>" && !turn.tool_calls.empty()) turn.finish_reason = "tool_calls";
  else turn.finish_reason = "stop";
  return turn;
}

}  // namespace

Result<Turn> parse(const Tokenizer& tok, std::span<const int32_t> ids) {
  auto sp = specials_of(tok);
  if (!sp) return sp.take_error();
  std::string_view stop;
  std::vector<std::string> chunks(1);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == sp->observation) { stop = "<|observation|>"; break; }
    if (ids[i] == sp->user) { stop = "<|user|>"; break; }
    if (ids[i] == sp->endoftext) { stop = "<|endoftext|>"; break; }
    if (ids[i] == sp->assistant) {
      chunks.emplace_back();
      continue;
    }
    auto piece = tok.decode(ids.subspan(i, 1));
    if (!piece) return piece.take_error();
    chunks.back() += *piece;
  }
  return turn_from_chunks(chunks, stop);
}

Result<Turn> parse_text(std::string_view completion) {
  std::string_view stop;
  size_t end = completion.size();
  for (std::string_view s : {"<|observation|>", "<|user|>", "<|endoftext|>"}) {
    size_t at = completion.find(s);
    if (at != std::string_view::npos && at < end) {
      end = at;
      stop = s;
    }
  }
  std::vector<std::string> chunks;
  std::string_view body = completion.substr(0, end);
  constexpr std::string_view kSep = "<|assistant|>";
  while (true) {
    size_t at = body.find(kSep);
    chunks.emplace_back(body.substr(0, at));
    if (at == std::string_view::npos) break;
    body.remove_prefix(at + kSep.size());
  }
  return turn_from_chunks(chunks, stop);
}

namespace {

Result<std::string> content_text(const ojson& m, size_t i) {
  if (!m.contains("content") || m["content"].is_null()) return std::string();
  const ojson& c = m["content"];
  if (c.is_string()) return c.get<std::string>();
  if (c.is_array()) {  // [{"type":"text","text":...}, ...]
    std::string out;
    for (size_t k = 0; k < c.size(); ++k) {
      if (!c[k].is_object() || c[k].value("type", "") != "text" || !c[k].contains("text") || !c[k]["text"].is_string())
        return make_error(ErrorCode::invalid_argument, "messages[" + std::to_string(i) + "].content[" +
                                                           std::to_string(k) + "] is not a text part");
      out += c[k]["text"].get<std::string>();
    }
    return out;
  }
  return make_error(ErrorCode::invalid_argument, "messages[" + std::to_string(i) + "].content must be a string or text parts");
}

}  // namespace

Result<std::vector<Message>> messages_from_openai(std::string_view messages_json) {
  ojson j = ojson::parse(messages_json, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return make_error(ErrorCode::invalid_argument, "messages must be a JSON array");
  std::vector<Message> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const ojson& m = j[i];
    std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return make_error(ErrorCode::invalid_argument, at + " must be an object with a string 'role'");
    std::string role = m["role"].get<std::string>();
    auto text = content_text(m, i);
    if (!text) return text.take_error();
    Message msg;
    msg.content = std::move(text).value();
    if (role == "system" || role == "developer") msg.role = Role::system;
    else if (role == "user") msg.role = Role::user;
    else if (role == "tool" || role == "observation") msg.role = Role::observation;
    else if (role == "assistant") {
      msg.role = Role::assistant;
      if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
        const ojson& calls = m["tool_calls"];
        if (!calls.is_array()) return make_error(ErrorCode::invalid_argument, at + ".tool_calls must be an array");
        for (size_t k = 0; k < calls.size(); ++k) {
          std::string cat = at + ".tool_calls[" + std::to_string(k) + "]";
          const ojson& c = calls[k];
          if (!c.is_object() || !c.contains("function") || !c["function"].is_object() ||
              !c["function"].contains("name") || !c["function"]["name"].is_string())
            return make_error(ErrorCode::invalid_argument, cat + " needs function.name");
          ToolCall call;
          call.name = c["function"]["name"].get<std::string>();
          const ojson& a = c["function"].contains("arguments") ? c["function"]["arguments"] : ojson();
          if (a.is_string()) call.arguments = a.get<std::string>();
          else if (a.is_object()) call.arguments = a.dump();
          else if (a.is_null()) call.arguments = "{}";
          else return make_error(ErrorCode::invalid_argument, cat + ".function.arguments must be a JSON string");
          auto parsed = ojson::parse(call.arguments, nullptr, false);
          if (parsed.is_discarded() || !parsed.is_object())
            return make_error(ErrorCode::invalid_argument, cat + ".function.arguments is not a JSON object");
          msg.tool_calls.push_back(std::move(call));
        }
      }
    } else {
      return make_error(ErrorCode::invalid_argument, at + ".role '" + role + "' is not system, user, assistant or tool");
    }
    out.push_back(std::move(msg));
  }
  return out;
}

Result<std::vector<ToolSpec>> tools_from_openai(std::string_view tools_json) {
  ojson j = ojson::parse(tools_json, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return make_error(ErrorCode::invalid_argument, "tools must be a JSON array");
  std::vector<ToolSpec> out;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string at = "tools[" + std::to_string(i) + "]";
    const ojson& t = j[i];
    if (!t.is_object()) return make_error(ErrorCode::invalid_argument, at + " must be an object");
    const ojson& f = t.contains("function") ? t["function"] : t;
    if (t.contains("type") && t["type"] != "function")
      return make_error(ErrorCode::invalid_argument, at + ".type must be \"function\"");
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty())
      return make_error(ErrorCode::invalid_argument, at + ".function.name must be a non-empty string");
    out.push_back(ToolSpec{f["name"].get<std::string>(), f.dump()});
  }
  return out;
}

}  // namespace glm::chat
