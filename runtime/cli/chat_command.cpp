// placeholder: chat-render lands with model/chat.
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
namespace glm::cli {
int cmd_chat_render(const Argv&) { return fail(kExitUsage, "chat-render is not built yet"); }
}  // namespace glm::cli
