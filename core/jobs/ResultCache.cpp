#include "core/jobs/ResultCache.h"

namespace heatlens {

CacheBudget::CacheBudget(size_t limitBytes)
    : m_limit(limitBytes)
{}

void CacheBudget::setLimit(size_t bytes)
{
    m_limit = bytes;
    shrink(nullptr);
}

void CacheBudget::charge(CacheOwner *owner, const std::string &key, size_t bytes)
{
    release(owner, key);
    m_items.push_back({owner, key, bytes});
    m_index[{owner, key}] = std::prev(m_items.end());
    m_used += bytes;
    shrink(&m_items.back());
}

void CacheBudget::touch(CacheOwner *owner, const std::string &key)
{
    auto it = m_index.find({owner, key});
    if (it != m_index.end())
        m_items.splice(m_items.end(), m_items, it->second);
}

void CacheBudget::release(CacheOwner *owner, const std::string &key)
{
    auto it = m_index.find({owner, key});
    if (it == m_index.end())
        return;
    m_used -= it->second->bytes;
    m_items.erase(it->second);
    m_index.erase(it);
}

void CacheBudget::releaseAll(CacheOwner *owner)
{
    for (auto it = m_items.begin(); it != m_items.end();) {
        if (it->owner != owner) {
            ++it;
            continue;
        }
        m_used -= it->bytes;
        m_index.erase({owner, it->key});
        it = m_items.erase(it);
    }
}

void CacheBudget::shrink(const Item *newest)
{
    for (auto it = m_items.begin(); m_used > m_limit && it != m_items.end();) {
        if (&*it == newest || it->owner->keeps(it->key)) {
            ++it;
            continue;
        }
        const Item item = *it; // evict() may not touch the budget, but the key must outlive it
        m_used -= item.bytes;
        m_index.erase({item.owner, item.key});
        it = m_items.erase(it);
        ++m_evictions;
        item.owner->evict(item.key);
    }
}

} // namespace heatlens
