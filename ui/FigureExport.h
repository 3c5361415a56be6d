#pragma once

// File > Export figure...: the figure of the tab in view, built from its document's results by
// the same builders heatlens-cli figure uses (ui/figure/Figures), and the dialog that sizes it.

#include "ui/figure/Figures.h"

#include <QDialog>
#include <QString>

#include <optional>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFontComboBox;
class QLineEdit;
class QSpinBox;

namespace heatlens::ui {

class MainWindow;

// How to write a figure: its size and type, formats and colours.
struct FigureRequest
{
    FigureStyle style;
    std::vector<FigureFormat> formats = {FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf};
    MapColours colours;
    bool overwrite = false;
};

// The figure kind of a tab: "explain" for the Explain tab, "grid" for Compare, and so on.
std::string figureKindOfTab(int tab);

// Why the window has no complete figure of `kind` to draw yet; empty when it has (cheap: the
// menu asks before it opens the dialog).
QString figureNotReady(const MainWindow &window, const std::string &kind);

// The figure of `kind` from what the window's documents hold now; nullopt with the reason in
// `whyNot` when there is nothing complete to draw yet.
std::optional<Figure> windowFigure(const MainWindow &window, const std::string &kind,
                                   const MapColours &colours, QString *whyNot);

// The dialog of File > Export figure...: size (journal column, custom millimetres or pixels),
// resolution, font, colour map, formats, folder and file name; remembers them (QSettings).
class FigureDialog : public QDialog
{
    Q_OBJECT

public:
    FigureDialog(const QString &kind, const QString &stem, QWidget *parent = nullptr);

    FigureRequest request() const;
    QString folder() const;
    QString stem() const;

    void accept() override; // remembers the choices

private:
    void updateEnabled();

    QComboBox *m_size;
    QDoubleSpinBox *m_mm;
    QSpinBox *m_px;
    QSpinBox *m_dpi;
    QFontComboBox *m_font;
    QSpinBox *m_fontSize;
    QComboBox *m_colours;
    QCheckBox *m_png, *m_svg, *m_pdf;
    QLineEdit *m_folder;
    QLineEdit *m_stem;
};

} // namespace heatlens::ui
