#pragma once

#include "core/jobs/BytesHeld.h"

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace heatlens {

class CacheBudget;

// What a ResultCache tells the budget it shares: how to drop one of its entries, and which of
// them must stay (the ones on screen, which evicting would compute again and again).
class CacheOwner
{
public:
    virtual ~CacheOwner() = default;

protected:
    friend class CacheBudget;
    virtual void evict(const std::string &key) = 0;
    virtual bool keeps(const std::string &key) const = 0;
};

// One memory bound for every cache of a program (the viewer: the explanations, curves, sanity
// checks and comparison cells of all tabs): entries are charged by an estimate of the bytes
// they hold, and when the sum passes the limit the least recently used entries of any cache are
// evicted, except the ones their cache keeps and the one just stored (a result larger than the
// limit is held alone rather than computed again at once). Not thread-safe: the caches and the
// budget live on one thread (the viewer's GUI thread).
class CacheBudget
{
public:
    static constexpr size_t kDefaultBytes = size_t(512) << 20;

    explicit CacheBudget(size_t limitBytes = kDefaultBytes);
    CacheBudget(const CacheBudget &) = delete;
    CacheBudget &operator=(const CacheBudget &) = delete;

    void setLimit(size_t bytes); // evicts down to the new limit
    size_t limit() const { return m_limit; }
    size_t used() const { return m_used; }
    size_t entries() const { return m_items.size(); }
    size_t evictions() const { return m_evictions; } // since construction

    // For ResultCache: stores or refreshes (owner, key) as the most recent entry, then evicts.
    void charge(CacheOwner *owner, const std::string &key, size_t bytes);
    void touch(CacheOwner *owner, const std::string &key);
    void release(CacheOwner *owner, const std::string &key);
    void releaseAll(CacheOwner *owner);

private:
    struct Item
    {
        CacheOwner *owner;
        std::string key;
        size_t bytes;
    };
    using Index = std::pair<const CacheOwner *, std::string>;
    void shrink(const Item *newest);

    size_t m_limit;
    size_t m_used = 0;
    size_t m_evictions = 0;
    std::list<Item> m_items; // least recently used first
    std::map<Index, std::list<Item>::iterator> m_index;
};

// A cache of computed results of one type, keyed by the text of the request (see
// core/explain/RequestKey.h), charged to a shared CacheBudget by `bytesHeld(value)` (found by
// argument-dependent lookup next to the value's type). find() counts as a use.
template<typename T> class ResultCache final : public CacheOwner
{
public:
    explicit ResultCache(std::shared_ptr<CacheBudget> budget)
        : m_budget(std::move(budget))
    {}
    ~ResultCache() override { m_budget->releaseAll(this); }
    ResultCache(const ResultCache &) = delete;
    ResultCache &operator=(const ResultCache &) = delete;

    // nullptr when absent. The pointer is valid until the next put() into any cache of the
    // budget (which may evict this entry).
    const T *find(const std::string &key)
    {
        auto it = m_values.find(key);
        if (it == m_values.end())
            return nullptr;
        m_budget->touch(this, key);
        return &it->second;
    }
    // Without counting as a use: for looking, not for showing.
    const T *peek(const std::string &key) const
    {
        auto it = m_values.find(key);
        return it == m_values.end() ? nullptr : &it->second;
    }
    bool contains(const std::string &key) const { return m_values.count(key) != 0; }
    // An empty key stores nothing (a request that cannot be named cannot be found again).
    void put(const std::string &key, T value)
    {
        if (key.empty())
            return;
        const size_t bytes = key.size() + bytesHeld(value);
        m_values[key] = std::move(value);
        m_budget->charge(this, key, bytes);
    }
    void erase(const std::string &key)
    {
        if (m_values.erase(key))
            m_budget->release(this, key);
    }
    void clear()
    {
        m_budget->releaseAll(this);
        m_values.clear();
    }
    size_t size() const { return m_values.size(); }
    // Keys that eviction leaves alone until the next call (what is on screen).
    void keepOnly(std::set<std::string> keys) { m_kept = std::move(keys); }
    const std::shared_ptr<CacheBudget> &budget() const { return m_budget; }

private:
    void evict(const std::string &key) override { m_values.erase(key); }
    bool keeps(const std::string &key) const override { return m_kept.count(key) != 0; }

    std::shared_ptr<CacheBudget> m_budget;
    std::map<std::string, T> m_values;
    std::set<std::string> m_kept;
};

} // namespace heatlens
