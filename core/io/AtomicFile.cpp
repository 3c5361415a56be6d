#include "core/io/AtomicFile.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace heatlens {

std::string temporarySiblingPath(const std::string &path)
{
    static std::atomic<unsigned> counter{0};
    auto p = std::filesystem::path(path);
    std::string name = "." + p.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter++);
    return (p.parent_path() / name).string();
}

void commitTemporary(const std::string &from, const std::string &to)
{
    if (std::rename(from.c_str(), to.c_str()) != 0) {
        std::string reason = std::strerror(errno);
        std::remove(from.c_str());
        throw std::runtime_error("cannot write " + to + ": " + reason);
    }
}

void writeFileAtomically(const std::string &path, const std::function<void(std::ostream &)> &write)
{
    const std::string tmp = temporarySiblingPath(path);
    try {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
        write(out);
        out.flush();
        if (!out)
            throw std::runtime_error("cannot write " + path + ": write failed (disk full?)");
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
    commitTemporary(tmp, path);
}

void writeTextAtomically(const std::string &path, const std::string &text)
{
    writeFileAtomically(path, [&](std::ostream &out) { out << text; });
}

} // namespace heatlens
