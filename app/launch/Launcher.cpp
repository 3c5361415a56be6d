// The heatlens and heatlens-cli executables: set the environment that the OpenMP runtime reads
// once, when it is loaded, then load the program itself (a shared library beside this file)
// and run it. Nothing here links LibTorch, so the environment is in place before libgomp
// starts. Idle OpenMP threads must sleep rather than spin: spinning, they take the cores
// from OpenBLAS's threads (ViT-B/16 forward on 2 cores: 1.2 s spinning, 0.30 s sleeping),
// and in the viewer from the GUI thread. A value the user set is kept.
//
// glibc's malloc is also told, through GLIBC_TUNABLES (read by the dynamic loader at process
// start, hence one re-execution of this small file), to back its heap with transparent huge
// pages: the first gradient pass of a process otherwise takes a page fault for every 4 KiB it
// touches (ViT-B/16 Saliency in a one-shot heatlens-cli: 260,000 minor faults, 10,700 with huge
// pages; method time median of 5 interleaved runs 1.02 s -> 0.92 s, process wall 6.0 s ->
// 5.5 s). Where the kernel's huge pages are off, the tunable changes nothing.

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// Re-executes this program once with glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES, unless
// the tunable is already there (set by the user, or by the first execution). Returns only when
// it does not re-execute, or when execv fails (then the program runs without it).
void useHugePagesForMalloc(char **argv)
{
    const char *tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables && std::strstr(tunables, "glibc.malloc.hugetlb"))
        return;
    std::string value = "glibc.malloc.hugetlb=1";
    if (tunables && *tunables)
        value = std::string(tunables) + ":" + value;
    setenv("GLIBC_TUNABLES", value.c_str(), 1);
    execv("/proc/self/exe", argv);
}

} // namespace

int main(int argc, char **argv)
{
    useHugePagesForMalloc(argv);
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
