// base/redact.h — secret redaction shared by tools (results) and the runtime (transcripts, logs).
// Threads: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace glm {

// Replaces each secret value, and its percent-encoded and base64 forms, by "[redacted]". Secrets shorter
// than 4 bytes are left alone (too short to redact without destroying ordinary text).
std::string redact(std::string text, const std::vector<std::string>& secrets);

// RFC 3986 percent-encoding of every byte but A-Z a-z 0-9 - . _ ~ (how a secret travels in a URL; also what
// tools/http uses to put arguments into URLs, so both agree on the spelling).
std::string percent_encode(std::string_view s);

}  // namespace glm
