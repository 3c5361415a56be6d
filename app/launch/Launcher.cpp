// The heatlens and heatlens-cli executables: set the environment that the OpenMP runtime reads
// once, when it is loaded, then load the program itself (a shared library beside this file)
// and run it. Nothing here links LibTorch, so the environment is in place before libgomp
// starts. Idle OpenMP threads must sleep rather than spin: spinning, they take the cores
// from OpenBLAS's threads (ViT-B/16 forward on 2 cores: 1.2 s spinning, 0.30 s sleeping),
// and in the viewer from the GUI thread. A value the user set is kept.

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#ifndef HEATLENS_APP_LIBRARY
#error "HEATLENS_APP_LIBRARY (file name of the program's shared library) is not defined"
#endif

namespace {

std::string executableDir()
{
    char path[4096];
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return ".";
    const std::string exe(path, size_t(n));
    const auto slash = exe.find_last_of('/');
    return slash == std::string::npos ? "." : exe.substr(0, slash);
}

} // namespace

int main(int argc, char **argv)
{
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    const std::string library = executableDir() + "/" + HEATLENS_APP_LIBRARY;
    void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        std::fprintf(stderr, "%s: cannot load %s: %s\n", argv[0], library.c_str(), dlerror());
        return 1;
    }
    using Entry = int (*)(int, char **);
    const auto entry = reinterpret_cast<Entry>(dlsym(handle, "heatlens_main"));
    if (!entry) {
        std::fprintf(stderr, "%s: %s has no heatlens_main: %s\n", argv[0], library.c_str(),
                     dlerror());
        return 1;
    }
    return entry(argc, argv); // the library stays loaded until exit
}
