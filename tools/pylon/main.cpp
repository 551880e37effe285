// pylon: the CLI and daemon. Thin: parses the command line and calls into engine/.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
        std::printf("pylon %s\n", PYLON_VERSION);
        return 0;
    }
    std::printf("usage: pylon [--version]\n");
    return 0;
}
