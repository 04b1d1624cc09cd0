// Placeholder until this command's layer lands; replaced by the real implementation.
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
namespace glm::cli {
int cmd_lua(const Argv&) { return fail(kExitUsage, "this command is not built yet"); }
}  // namespace glm::cli
