// model/chat.h — the GLM-4-0414 chat and tool-call format (reference/glm4.md §6).
//
// render(): messages + tools -> prompt ids, with [gMASK]<sop>, role tokens and the tools block. Only this
// renderer emits special ids; every text (user, system, tool results, arguments) is encoded with special
// matching off, so text that spells "<|user|>" can never forge a role.
// parse(): the ids generated after <|assistant|> -> an answer or tool calls.
//
//   std::vector<chat::Message> msgs = {chat::Message::user("What is 2+2?")};
//   auto ids = chat::render(tok, msgs, tools, /*add_generation_prompt=*/true);
//   ... generate until a stop id ...
//   auto turn = chat::parse(tok, generated_ids);   // turn->tool_calls or turn->content
//
// Threads: pure functions over immutable inputs. Errors: render() returns invalid_argument for a tool
// spec or arguments that are not valid JSON; parse() returns invalid_argument naming the malformed call;
// specials_of() returns invalid_argument when a tokenizer lacks GLM-4's role tokens.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "model/tokenizer.h"

namespace glm::chat {

// The GLM-4 special tokens the format uses, by id in a given tokenizer.
struct Specials {
  int32_t gmask, sop, system, user, assistant, observation, endoftext;
};
Result<Specials> specials_of(const Tokenizer& tok);

struct ToolCall {
  std::string name;
  std::string arguments;  // one JSON object, kept as produced (so re-rendering hits the KV prefix cache)
};

enum class Role { system, user, assistant, observation };

struct Message {
  Role role = Role::user;
  std::string content;               // for assistant: text before any calls (may be empty)
  std::vector<ToolCall> tool_calls;  // assistant only

  static Message system(std::string c) { return {Role::system, std::move(c), {}}; }
  static Message user(std::string c) { return {Role::user, std::move(c), {}}; }
  static Message assistant(std::string c, std::vector<ToolCall> calls = {}) {
    return {Role::assistant, std::move(c), std::move(calls)};
  }
  static Message observation(std::string c) { return {Role::observation, std::move(c), {}}; }
};

// A tool as the model sees it: the `function` object of an OpenAI tool ({name, description,
// parameters}), as JSON text whose key order is kept.
struct ToolSpec {
  std::string name;
  std::string function_json;
};

// The prompt as text with special tokens spelled out (golden tests, debugging, `chat-render`).
Result<std::string> render_text(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                bool add_generation_prompt);
// The prompt as ids.
Result<std::vector<int32_t>> render(const Tokenizer& tok, std::span<const Message> messages,
                                    std::span<const ToolSpec> tools, bool add_generation_prompt);

// What one assistant turn said.
struct Turn {
  std::string content;               // text answer (empty when the turn only calls tools)
  std::vector<ToolCall> tool_calls;  // in call order
  std::string finish_reason;         // "stop", "tool_calls" or "length" (no stop token reached)
};
// ids: the tokens generated after <|assistant|>, with or without the final stop token.
Result<Turn> parse(const Tokenizer& tok, std::span<const int32_t> ids);
// The same on completion text whose special tokens are spelled out ("<|assistant|>", "<|observation|>",
// "<|user|>", "<|endoftext|>"): for backends that return text (an OpenAI-compatible server, tests).
Result<Turn> parse_text(std::string_view completion);

// OpenAI chat shapes: messages (system/user/assistant with tool_calls/tool) and tools
// ([{"type":"function","function":{...}}]). Errors name the offending index and field.
Result<std::vector<Message>> messages_from_openai(std::string_view messages_json);
Result<std::vector<ToolSpec>> tools_from_openai(std::string_view tools_json);

}  // namespace glm::chat
