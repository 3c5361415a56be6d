#pragma once

#include "core/model/Model.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace heatlens {

// Prepared private copies of models (a dropout copy, a DropConnect copy), reused across requests.
// Cloning a TorchScript module adds new class types to the module's compilation unit, which
// live as long as the unit (as long as the model): a clone per request grew a long dataset run
// by 1.7 MB per image on the demo CNN. A copy is lent to one user at a time and comes back when
// its shared_ptr is released; copies of a model that no longer exists are dropped on the next
// acquire, so nothing outlives its model for long.
template<typename T> class CopyPool
{
public:
    using Make = std::function<std::unique_ptr<T>()>;

    // A copy of `model` prepared as `config` says that no one else holds; `make` builds one when
    // every pooled copy is lent.
    std::shared_ptr<T> acquire(const ModelPtr &model, const std::string &config, const Make &make)
    {
        const std::string key = model->cacheKey() + "\n" + config;
        std::unique_ptr<T> copy;
        {
            std::lock_guard lock(m_mutex);
            purgeExpired();
            Entry &entry = m_entries[key];
            // The model object's own lifetime, not that of the pointer given (which may alias a
            // lent copy, as randomisedCopy's do).
            entry.model = model->weak_from_this();
            if (!entry.free.empty()) {
                copy = std::move(entry.free.back());
                entry.free.pop_back();
            }
        }
        if (!copy)
            copy = make();
        return std::shared_ptr<T>(copy.release(), [this, key](T *lent) {
            std::lock_guard lock(m_mutex);
            auto it = m_entries.find(key);
            if (it == m_entries.end() || it->second.model.expired())
                delete lent;
            else
                it->second.free.emplace_back(lent);
        });
    }

    // One pool per type for the process; never destroyed, so copies returned at exit find it.
    static CopyPool &shared()
    {
        static auto *pool = new CopyPool();
        return *pool;
    }

private:
    struct Entry
    {
        std::weak_ptr<const Model> model;
        std::vector<std::unique_ptr<T>> free;
    };

    void purgeExpired()
    {
        for (auto it = m_entries.begin(); it != m_entries.end();)
            it = it->second.model.expired() ? m_entries.erase(it) : std::next(it);
    }

    std::mutex m_mutex;
    std::map<std::string, Entry> m_entries;
};

} // namespace heatlens
