// The `sless` command (placeholder until the daemon lands).
#include <cstdio>

int main() {
  std::printf("sless %s\n", SLESS_VERSION);
  return 0;
}
