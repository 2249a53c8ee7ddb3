// floor_runtime: the Runtime API loop with an echo handler and no Python. Under the driver
// it shows the fastest a runtime on this client can be; the Python runtimes are measured
// against it. Reads AWS_LAMBDA_RUNTIME_API like any runtime; exits on SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "runtime/runtime_api_client.h"

int main() {
  const char* address = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (address == nullptr || *address == '\0') {
    std::fprintf(stderr, "floor_runtime: AWS_LAMBDA_RUNTIME_API is not set\n");
    return 2;
  }
  try {
    lamina::runtime::RuntimeApiClient client(address);
    for (;;) {
      lamina::runtime::Invocation invocation = client.next(nullptr);
      std::string_view content_type = "application/json";
      if (invocation.content_type) content_type = *invocation.content_type;
      lamina::runtime::PostAnswer answer = client.post_response(invocation, invocation.body, content_type);
      if (answer.status >= 500) {
        std::fprintf(stderr, "floor_runtime: the Runtime API answered %d to a response: %s\n", answer.status,
                     answer.body.c_str());
        return 1;
      }
    }
  } catch (const lamina::runtime::RuntimeApiError& error) {
    std::fprintf(stderr, "floor_runtime: %s\n", error.what());
    return 1;
  }
}
