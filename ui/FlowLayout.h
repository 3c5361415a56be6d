#pragma once

#include <QLayout>

#include <vector>

namespace heatlens::ui {

// A layout that places its widgets in a row and wraps them onto further rows when the width
// runs out (each row's items centred vertically), so that a tab's controls never set the
// window's least width. Its height follows its width (heightForWidth).
class FlowLayout : public QLayout
{
public:
    explicit FlowLayout(QWidget *parent = nullptr);
    ~FlowLayout() override;

    void addItem(QLayoutItem *item) override;
    int count() const override { return int(m_items.size()); }
    QLayoutItem *itemAt(int index) const override;
    QLayoutItem *takeAt(int index) override;
    Qt::Orientations expandingDirections() const override { return {}; }
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize minimumSize() const override; // the widest single item
    QSize sizeHint() const override;    // everything in one row
    void setGeometry(const QRect &rect) override;

private:
    // Places the items in `rect` (only measures when `apply` is false); returns the height used.
    int arrange(const QRect &rect, bool apply) const;

    std::vector<QLayoutItem *> m_items;
};

} // namespace heatlens::ui
