#include "ui/FlowLayout.h"

#include <QWidget>

#include <algorithm>

namespace heatlens::ui {

FlowLayout::FlowLayout(QWidget *parent)
    : QLayout(parent)
{}

FlowLayout::~FlowLayout()
{
    while (QLayoutItem *item = takeAt(0))
        delete item;
}

void FlowLayout::addItem(QLayoutItem *item)
{
    m_items.push_back(item);
}

QLayoutItem *FlowLayout::itemAt(int index) const
{
    return index >= 0 && index < count() ? m_items[size_t(index)] : nullptr;
}

QLayoutItem *FlowLayout::takeAt(int index)
{
    if (index < 0 || index >= count())
        return nullptr;
    QLayoutItem *item = m_items[size_t(index)];
    m_items.erase(m_items.begin() + index);
    return item;
}

int FlowLayout::heightForWidth(int width) const
{
    return arrange(QRect(0, 0, width, 0), false);
}

QSize FlowLayout::minimumSize() const
{
    QSize size;
    for (const QLayoutItem *item : m_items)
        if (!item->isEmpty())
            size = size.expandedTo(item->minimumSize());
    const QMargins m = contentsMargins();
    return size + QSize(m.left() + m.right(), m.top() + m.bottom());
}

QSize FlowLayout::sizeHint() const
{
    int width = 0, height = 0, visible = 0;
    for (const QLayoutItem *item : m_items)
        if (!item->isEmpty()) {
            width += item->sizeHint().width();
            height = std::max(height, item->sizeHint().height());
            ++visible;
        }
    const QMargins m = contentsMargins();
    return {width + std::max(0, visible - 1) * std::max(0, spacing()) + m.left() + m.right(),
            height + m.top() + m.bottom()};
}

void FlowLayout::setGeometry(const QRect &rect)
{
    QLayout::setGeometry(rect);
    arrange(rect, true);
}

int FlowLayout::arrange(const QRect &rect, bool apply) const
{
    const QRect area = rect.marginsRemoved(contentsMargins());
    const int gap = std::max(0, spacing());
    int y = area.y();
    std::vector<QLayoutItem *> line;
    int lineWidth = 0, lineHeight = 0;
    auto flush = [&] {
        if (apply) {
            int x = area.x();
            for (QLayoutItem *item : line) {
                const QSize hint = item->sizeHint();
                item->setGeometry(QRect(QPoint(x, y + (lineHeight - hint.height()) / 2), hint));
                x += hint.width() + gap;
            }
        }
        if (!line.empty())
            y += lineHeight + gap;
        line.clear();
        lineWidth = lineHeight = 0;
    };
    for (QLayoutItem *item : m_items) {
        if (item->isEmpty())
            continue;
        const QSize hint = item->sizeHint();
        if (!line.empty() && lineWidth + gap + hint.width() > area.width())
            flush();
        lineWidth += (line.empty() ? 0 : gap) + hint.width();
        lineHeight = std::max(lineHeight, hint.height());
        line.push_back(item);
    }
    flush();
    const int used = y - area.y() - (y > area.y() ? gap : 0);
    return used + contentsMargins().top() + contentsMargins().bottom();
}

} // namespace heatlens::ui
