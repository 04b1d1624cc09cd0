// base/redact.h — secret redaction shared by tools (results) and the runtime (transcripts, logs).
// Threads: pure function.
#pragma once

#include <string>
#include <vector>

namespace glm {

// Replaces each secret value, and its percent-encoded and base64 forms, by "[redacted]". Secrets shorter
// than 4 bytes are left alone (too short to redact without destroying ordinary text).
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace glm
