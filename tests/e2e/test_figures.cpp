// Figures: the viewer's File > Export figure... and heatlens-cli figure write the same files for
// every kind (explain, grid, curves, sanity, uncertainty, groups), those files equal the golden
// ones under tests/data/golden/figures, and each format is what it claims: PNG at the asked
// width and DPI, SVG as well-formed XML with text and vector paths at the asked millimetres,
// PDF with the asked page size and its fonts embedded. The model and image are the golden
// exports' (tests/support goldenModule, goldenInput), made from closed forms.
//
// After an intended change to the figures, rewrite the goldens and look at them:
//   HEATLENS_UPDATE_GOLDEN=1 ctest --test-dir build -R figure
#include "core/explain/ExplainJob.h"
#include "core/model/Model.h"
#include "core/model/ModelCard.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"
#include "ui/CompareSession.h"
#include "ui/GroupsSession.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"
#include "ui/UncertaintySession.h"
#include "ui/figure/Figures.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QRegularExpression>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>
#include <QXmlStreamReader>

#include <filesystem>

using namespace heatlens;
using namespace heatlens::ui;
namespace fs = std::filesystem;

namespace {

constexpr int kTimeout = 120000;
constexpr int kGoldenDpi = 150; // goldens small enough to keep in the repository

std::string goldenDir()
{
    return HEATLENS_SOURCE_DIR "/tests/data/golden/figures";
}

bool updating()
{
    return qEnvironmentVariableIsSet("HEATLENS_UPDATE_GOLDEN");
}

void writeModel(const std::string &dir, const std::string &name, int variant)
{
    test::goldenModule(variant).save(dir + "/" + name + ".pt");
    ModelCard card;
    card.name = variant == 0 ? "golden linear" : "golden linear B";
    card.inputChannels = 1;
    card.inputHeight = 28;
    card.inputWidth = 28;
    card.mean = {0.5f};
    card.std = {0.25f};
    test::writeBytes(dir + "/" + name + ".json", modelCardToJson(card));
}

// A PDF's bytes without its creation date (the one part that differs between two writes).
QByteArray withoutDate(QByteArray pdf)
{
    static const QRegularExpression date(QStringLiteral("/CreationDate \\([^)]*\\)"));
    return QString::fromLatin1(pdf).remove(date).toLatin1();
}

// The page size of a one-page PDF, from its /MediaBox.
QSizeF pdfPageSize(const QByteArray &pdf)
{
    static const QRegularExpression box(
        QStringLiteral("/MediaBox \\[\\s*0\\s+0\\s+([0-9.]+)\\s+([0-9.]+)\\s*\\]"));
    const auto m = box.match(QString::fromLatin1(pdf));
    return m.hasMatch() ? QSizeF(m.captured(1).toDouble(), m.captured(2).toDouble()) : QSizeF();
}

// The golden PNG equals `png` up to rounding on another processor: at most 0.2% of the pixels
// differ by more than two levels.
void compareToGolden(const std::string &png, const std::string &kind)
{
    const std::string golden = goldenDir() + "/" + kind + ".png";
    if (updating()) {
        fs::create_directories(goldenDir());
        fs::copy_file(png, golden, fs::copy_options::overwrite_existing);
    }
    const cv::Mat a = cv::imread(golden, cv::IMREAD_COLOR);
    const cv::Mat b = cv::imread(png, cv::IMREAD_COLOR);
    QVERIFY2(!a.empty(), ("missing golden " + golden + ": see the header").c_str());
    QCOMPARE(b.size(), a.size());
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    const cv::Mat far = diff.reshape(1) > 2;
    const double share = cv::countNonZero(far) / double(far.total());
    QVERIFY2(share <= 0.002, (kind + " differs from its golden in " +
                              std::to_string(share * 100.0) + "% of the pixels: " + png)
                                 .c_str());
}

} // namespace

class FiguresTest : public QObject
{
    Q_OBJECT

private:
    std::string m_dir;
    QString m_model, m_second, m_image;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        m_dir = test::makeTempDir("figures");
        fs::create_directories(m_dir + "/images");
        QVERIFY(cv::imwrite(m_dir + "/images/input.png", test::goldenInput()));
        writeModel(m_dir, "golden", 0);
        writeModel(m_dir, "second", 1);
        m_model = QString::fromStdString(m_dir + "/golden.pt");
        m_second = QString::fromStdString(m_dir + "/second.pt");
        m_image = QString::fromStdString(m_dir + "/images/input.png");
    }

    void everyFormatIsWhatItClaims()
    {
        auto model = Model::load(m_model.toStdString());
        ExplainJob job;
        job.model = model;
        job.image = test::goldenInput();
        job.methodId = "saliency";
        const auto outcome = runExplain(job, {});
        Figure figure = explainFigure(explainFigureInput(*model, job.image, outcome, {}));
        // A plot too, so that every kind of panel is in the files.
        CurvesFigureInput curves;
        CurveSeries line;
        line.label = QStringLiteral("line");
        line.curve.fractions = {0.0, 0.5, 1.0};
        line.curve.probabilities = {1.0, 0.5, 0.0};
        line.curve.logits = {2.0, 0.0, -2.0};
        line.colour = seriesColour(0);
        curves.series.push_back(line);
        figure.rows.push_back(curvesFigure(curves).rows.front());
        FigureStyle style; // 89 mm at 300 dpi
        const double height = figureHeightPt(figure, style);

        const QImage png = QImage::fromData(renderFigure(figure, style, FigureFormat::Png), "PNG");
        QCOMPARE(png.width(), 1050); // 89 mm, 252 pt (whole points), at 300 dpi
        QCOMPARE(png.height(), int(std::ceil(height / 72.0 * 300.0)));
        QCOMPARE(png.dotsPerMeterX(), int(std::lround(300 / 0.0254)));

        const QByteArray svg = renderFigure(figure, style, FigureFormat::Svg);
        QXmlStreamReader xml(svg);
        int texts = 0, paths = 0, images = 0;
        QString width;
        while (!xml.atEnd()) {
            if (xml.readNext() != QXmlStreamReader::StartElement)
                continue;
            const auto name = xml.name();
            if (name == QLatin1String("svg"))
                width = xml.attributes().value(QLatin1String("width")).toString();
            texts += name == QLatin1String("text");
            paths += name == QLatin1String("path") || name == QLatin1String("polyline");
            images += name == QLatin1String("image");
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        QCOMPARE(width, QStringLiteral("88.900mm")); // 252 pt
        QVERIFY2(texts >= 10, qPrintable(QString::number(texts) + " text elements"));
        QVERIFY2(paths >= 5, qPrintable(QString::number(paths) + " vector paths"));
        QVERIFY2(images >= 3, qPrintable(QString::number(images) + " images")); // the maps

        const QByteArray pdf = renderFigure(figure, style, FigureFormat::Pdf);
        QVERIFY(pdf.startsWith("%PDF-"));
        const QSizeF page = pdfPageSize(pdf);
        QVERIFY2(std::abs(page.width() - 252.0) < 0.01, qPrintable(QString::number(page.width())));
        QVERIFY2(std::abs(page.height() - height) < 0.01,
                 qPrintable(QString::number(page.height())));
        QVERIFY2(pdf.contains("/FontFile2") || pdf.contains("/FontFile3"),
                 "the PDF's fonts are not embedded");

        // 183 mm, in pixels, and refusals.
        style.widthMm = 183.0;
        QCOMPARE(QImage::fromData(renderFigure(figure, style, FigureFormat::Png), "PNG").width(),
                 2163); // 519 pt
        style.widthPx = 800;
        QCOMPARE(QImage::fromData(renderFigure(figure, style, FigureFormat::Png), "PNG").width(),
                 800);
        style.fontPt = 40;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 renderFigure(figure, style, FigureFormat::Png));
        const std::string out = m_dir + "/formats";
        const auto paths2 = saveFigure(figure, FigureStyle(), {FigureFormat::Png}, out, "f", false);
        QCOMPARE(paths2.size(), size_t(1));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                                 saveFigure(figure, FigureStyle(), {FigureFormat::Png}, out, "f",
                                            false)); // never overwrites
    }

    void viewerAndCliWriteTheSameFigureOfEveryKind()
    {
        MainWindow window;
        window.resize(1200, 800);
        window.show();
        Session *session = window.session();
        session->openModel(m_model);
        session->openDataset(QString::fromStdString(m_dir + "/images"));
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        auto *tabs = qobject_cast<QTabWidget *>(window.centralWidget());
        QVERIFY(tabs);
        // The requests the command lines below make.
        window.compareSession()->addModelFile(m_second);
        window.compareSession()->setMethods({"saliency", "integrated-gradients"});
        window.uncertaintySession()->setSource("tta", {});
        GroupingOptions grouping;
        grouping.method = "slico";
        grouping.groups = 16;
        window.groupsSession()->setGrouping(grouping);
        EstimateOptions estimate;
        estimate.estimator = "archdetect";
        estimate.index = "archdetect";
        window.groupsSession()->setEstimate(estimate);

        const std::string viewerDir = m_dir + "/viewer", cliDir = m_dir + "/cli";
        FigureRequest request;
        request.style.dpi = kGoldenDpi;
        const struct
        {
            int tab;
            std::string kind;
            QStringList args;
        } kinds[] = {
            {0, "explain", {}},
            {1, "grid", {"--models", m_second, "--methods", "saliency,integrated-gradients"}},
            {2, "curves", {}},
            {3, "sanity", {}},
            {4, "groups", {"--groups", "slico:16", "--estimator", "archdetect"}},
            {5, "uncertainty", {"--source", "tta"}},
        };
        for (const auto &k : kinds) {
            tabs->setCurrentIndex(k.tab);
            QCOMPARE(window.currentFigureKind(), k.kind);
            if (k.kind == "groups")
                window.groupsSession()->run();
            QString why;
            QTRY_VERIFY2_WITH_TIMEOUT(windowFigure(window, k.kind, MapColours(), &why).has_value(),
                                      qPrintable(QString::fromStdString(k.kind) + ": " + why),
                                      kTimeout);
            QVERIFY(window.exportFigureTo(QString::fromStdString(viewerDir),
                                          QString::fromStdString(k.kind), request));
            QStringList args = {"figure",
                                "--kind",
                                QString::fromStdString(k.kind),
                                "--model",
                                m_model,
                                "--image",
                                m_image,
                                "--out",
                                QString::fromStdString(cliDir),
                                "--stem",
                                QString::fromStdString(k.kind),
                                "--dpi",
                                QString::number(kGoldenDpi)};
            args << k.args;
            const auto run = test::runProgram(HEATLENS_CLI, args);
            QVERIFY2(run.exitCode == 0, qPrintable(run.err));
            const std::string v = viewerDir + "/" + k.kind, c = cliDir + "/" + k.kind;
            QVERIFY2(test::readAll(v + ".png") == test::readAll(c + ".png"),
                     (k.kind + ": the viewer's PNG differs from the command line's").c_str());
            QVERIFY2(test::readAll(v + ".svg") == test::readAll(c + ".svg"),
                     (k.kind + ": the viewer's SVG differs from the command line's").c_str());
            const bool samePdf =
                withoutDate(QByteArray::fromStdString(test::readAll(v + ".pdf"))) ==
                withoutDate(QByteArray::fromStdString(test::readAll(c + ".pdf")));
            if (!samePdf) // kept for a look
                for (const std::string &from : {v, c})
                    fs::copy_file(from + ".pdf",
                                  std::string(HEATLENS_BINARY_DIR) + "/figure-mismatch-" + k.kind +
                                      (from == v ? "-viewer.pdf" : "-cli.pdf"),
                                  fs::copy_options::overwrite_existing);
            QVERIFY2(samePdf, (k.kind + ": the viewer's PDF differs from the command line's "
                                        "(both copied to the build folder)")
                                  .c_str());
            compareToGolden(c + ".png", k.kind);
        }
        if (updating())
            qInfo("golden figures rewritten in %s", goldenDir().c_str());
    }
};

QTEST_MAIN(FiguresTest)
#include "test_figures.moc"
