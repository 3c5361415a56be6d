#pragma once

#include <QMenu>

#include <memory>

namespace heatlens {
class CacheBudget;
}

namespace heatlens::ui {

// Explain > Result cache: the memory bound of every tab's cached results (explanations, curves,
// sanity checks, comparison cells), kept in QSettings ("cache/megabytes", default 512), and
// what the caches hold now. Lowering it evicts at once, least recently used first.
class CacheMenu : public QMenu
{
    Q_OBJECT

public:
    CacheMenu(std::shared_ptr<CacheBudget> budget, QWidget *parent = nullptr);

    // The saved bound in bytes (the default when none is saved).
    static size_t savedLimit();
    void choose(int megabytes); // saved, applied, announced with message()

Q_SIGNALS:
    void message(const QString &text);

private:
    void rebuild();

    std::shared_ptr<CacheBudget> m_budget;
};

} // namespace heatlens::ui
