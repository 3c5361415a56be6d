#include "ui/CacheMenu.h"

#include "core/jobs/ResultCache.h"

#include <QActionGroup>
#include <QSettings>

namespace heatlens::ui {

namespace {

const QString kKey = QStringLiteral("cache/megabytes");
constexpr int kDefaultMegabytes = int(CacheBudget::kDefaultBytes >> 20);

int savedMegabytes()
{
    const int mb = QSettings().value(kKey, kDefaultMegabytes).toInt();
    return mb > 0 ? mb : kDefaultMegabytes;
}

QString megabytes(size_t bytes)
{
    return QString::number(double(bytes) / double(1 << 20), 'f', 0);
}

} // namespace

CacheMenu::CacheMenu(std::shared_ptr<CacheBudget> budget, QWidget *parent)
    : QMenu(tr("Result &cache"), parent)
    , m_budget(std::move(budget))
{
    connect(this, &QMenu::aboutToShow, this, &CacheMenu::rebuild);
    rebuild();
}

size_t CacheMenu::savedLimit()
{
    return size_t(savedMegabytes()) << 20;
}

void CacheMenu::choose(int megabytes_)
{
    QSettings().setValue(kKey, megabytes_);
    m_budget->setLimit(size_t(megabytes_) << 20);
    Q_EMIT message(tr("Result cache: at most %1 MB (%2 MB held)")
                       .arg(megabytes_)
                       .arg(megabytes(m_budget->used())));
    rebuild();
}

void CacheMenu::rebuild()
{
    clear();
    QAction *use = addAction(tr("Holding %1 MB in %2 results")
                                 .arg(megabytes(m_budget->used()))
                                 .arg(m_budget->entries()));
    use->setEnabled(false);
    addSeparator();
    auto *group = new QActionGroup(this);
    const int saved = savedMegabytes();
    for (int mb : {128, 256, 512, 1024, 2048, 4096}) {
        QAction *action = addAction(tr("At most %1 MB").arg(mb), this, [this, mb] { choose(mb); });
        action->setCheckable(true);
        action->setChecked(mb == saved);
        group->addAction(action);
    }
}

} // namespace heatlens::ui
