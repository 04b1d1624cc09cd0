// Keeps a library non-empty while its folder is being filled; harmless once it has sources.
namespace glm { [[maybe_unused]] static int anchor_ = 0; }
