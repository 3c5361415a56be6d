#include "core/data/Dataset.h"
#include "core/data/IdxDataset.h"
#include "core/data/ImageFolderDataset.h"
#include "tests/support/TestSupport.h"

#include <QElapsedTimer>
#include <QTest>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include <filesystem>
#include <thread>

using namespace heatlens;
namespace fs = std::filesystem;

namespace {

std::string bigEndian(uint32_t v)
{
    return {char(v >> 24), char(v >> 16 & 0xFF), char(v >> 8 & 0xFF), char(v & 0xFF)};
}

uint8_t pixelValue(size_t image, size_t offset)
{
    return uint8_t((image * 7 + offset) % 256);
}

std::string idxImages(uint32_t count, uint32_t rows, uint32_t cols)
{
    std::string bytes = bigEndian(0x803) + bigEndian(count) + bigEndian(rows) + bigEndian(cols);
    for (size_t i = 0; i < count; ++i)
        for (size_t p = 0; p < size_t(rows) * cols; ++p)
            bytes.push_back(char(pixelValue(i, p)));
    return bytes;
}

std::string idxLabels(const std::vector<uint8_t> &labels)
{
    std::string bytes = bigEndian(0x801) + bigEndian(uint32_t(labels.size()));
    bytes.append(labels.begin(), labels.end());
    return bytes;
}

void writeGz(const std::string &path, const std::string &bytes)
{
    gzFile f = gzopen(path.c_str(), "wb");
    QVERIFY(f != nullptr);
    QCOMPARE(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    QCOMPARE(gzclose(f), Z_OK);
}

std::string readGzPrefix(const std::string &path, size_t n)
{
    std::string bytes(n, '\0');
    gzFile f = gzopen(path.c_str(), "rb");
    const int got = f ? gzread(f, bytes.data(), unsigned(n)) : 0;
    if (f)
        gzclose(f);
    bytes.resize(size_t(std::max(got, 0)));
    return bytes;
}

std::string le(uint32_t v, int bytes)
{
    std::string out;
    for (int i = 0; i < bytes; ++i)
        out.push_back(char(v >> (8 * i) & 0xFF));
    return out;
}

// Headers that claim a 20000x20000 image, followed by junk instead of pixels.
std::string oversizedHeader(const std::string &format)
{
    const std::string junk(64, '\x5A');
    if (format == "png")
        return "\x89PNG\r\n\x1a\n" + std::string("\0\0\0\x0dIHDR", 8) + bigEndian(20000) +
               bigEndian(20000) + std::string("\x08\x02\0\0\0", 5) + junk;
    if (format == "jpg")
        return std::string("\xFF\xD8\xFF\xE0\0\x04\0\0\xFF\xC0\0\x11\x08", 13) +
               bigEndian(20000u << 16 | 20000u) + junk;
    if (format == "bmp")
        return "BM" + std::string(12, '\0') + le(40, 4) + le(20000, 4) + le(20000, 4) + junk;
    return std::string("II*\0", 4) + le(8, 4) + le(2, 2) + le(256, 2) + le(4, 2) + le(1, 4) +
           le(20000, 4) + le(257, 2) + le(3, 2) + le(1, 4) + le(20000, 4) + le(0, 4) + junk;
}

} // namespace

class DatasetsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void rawIdxFileOpensWithLabelsFoundBeside()
    {
        const std::string dir = test::makeTempDir("idx-raw");
        test::writeBytes(dir + "/train-images-idx3-ubyte", idxImages(3, 2, 4));
        test::writeBytes(dir + "/train-labels-idx1-ubyte", idxLabels({2, 0, 1}));
        IdxDataset ds(dir + "/train-images-idx3-ubyte");
        QCOMPARE(ds.size(), size_t(3));
        QCOMPARE(ds.label(0), 2);
        QCOMPARE(ds.label(2), 1);
        QCOMPARE(ds.classNames(), (std::vector<std::string>{"0", "1", "2"}));
        const Sample s = ds.load(1);
        QCOMPARE(s.image.type(), CV_8UC1);
        QCOMPARE(s.image.size(), cv::Size(4, 2));
        QCOMPARE(int(s.image.at<uint8_t>(1, 3)), int(pixelValue(1, 7)));
        QCOMPARE(s.label, 0);
        QCOMPARE(s.id, std::string("train/1"));
    }

    void gzippedIdxDecodesTheSamePixelsAsRaw()
    {
        const std::string dir = test::makeTempDir("idx-gz");
        writeGz(dir + "/digits-images-idx3-ubyte.gz", idxImages(5, 3, 3));
        writeGz(dir + "/digits-labels-idx1-ubyte.gz", idxLabels({0, 1, 2, 3, 4}));
        IdxDataset ds(dir + "/digits-images-idx3-ubyte.gz");
        QCOMPARE(ds.size(), size_t(5));
        for (size_t i = 0; i < 5; ++i) {
            const Sample s = ds.load(i);
            QCOMPARE(s.label, int(i));
            QCOMPARE(int(s.image.at<uint8_t>(2, 2)), int(pixelValue(i, 8)));
        }
        QCOMPARE(ds.sampleId(4), std::string("digits/4"));
    }

    void idxFolderAggregatesTrainBeforeTestWithSplitIds()
    {
        const std::string dir = test::makeTempDir("idx-folder");
        writeGz(dir + "/t10k-images-idx3-ubyte.gz", idxImages(2, 2, 2));
        writeGz(dir + "/t10k-labels-idx1-ubyte.gz", idxLabels({7, 8}));
        test::writeBytes(dir + "/train-images-idx3-ubyte", idxImages(3, 2, 2));
        test::writeBytes(dir + "/train-labels-idx1-ubyte", idxLabels({1, 2, 3}));
        const auto ds = openDataset(dir);
        QCOMPARE(ds->size(), size_t(5));
        QCOMPARE(ds->sampleId(0), std::string("train/0"));
        QCOMPARE(ds->sampleId(3), std::string("t10k/0"));
        QCOMPARE(ds->label(4), 8);
        QCOMPARE(ds->load(4).id, std::string("t10k/1"));
        QCOMPARE(int(ds->load(4).image.at<uint8_t>(0, 0)), int(pixelValue(1, 0)));
        QCOMPARE(ds->classNames().size(), size_t(9));
    }

    void idxFirstLoadIsThreadSafe()
    {
        const std::string dir = test::makeTempDir("idx-threads");
        writeGz(dir + "/train-images-idx3-ubyte.gz", idxImages(64, 16, 16));
        IdxDataset ds(dir + "/train-images-idx3-ubyte.gz");
        std::vector<cv::Mat> images(8);
        std::vector<std::thread> threads;
        for (size_t t = 0; t < images.size(); ++t)
            threads.emplace_back([&, t] { images[t] = ds.load(t * 8).image; });
        for (auto &thread : threads)
            thread.join();
        for (size_t t = 0; t < images.size(); ++t)
            QCOMPARE(int(images[t].at<uint8_t>(15, 15)), int(pixelValue(t * 8, 255)));
    }

    void idxWithoutLabelsFileHasUnknownLabelsAndAWarning()
    {
        const std::string dir = test::makeTempDir("idx-nolabels");
        test::writeBytes(dir + "/train-images-idx3-ubyte", idxImages(2, 2, 2));
        IdxDataset ds(dir + "/train-images-idx3-ubyte");
        QCOMPARE(ds.label(1), -1);
        QCOMPARE(ds.load(1).label, -1);
        QVERIFY(ds.classNames().empty());
        QCOMPARE(ds.warnings().size(), size_t(1));
    }

    void idxBadMagicErrorNamesFileAndFoundMagic()
    {
        const std::string dir = test::makeTempDir("idx-magic");
        const std::string path = dir + "/train-images-idx3-ubyte";
        test::writeBytes(path, idxLabels({1, 2, 3}));
        const std::string error = test::errorOf([&] { openDataset(path); });
        QVERIFY2(test::contains(error, path) && test::contains(error, "0x00000801"), error.c_str());
    }

    void rawIdxTruncatedPayloadIsRejectedAtOpenNamingTheFile()
    {
        const std::string dir = test::makeTempDir("idx-trunc");
        const std::string path = dir + "/train-images-idx3-ubyte";
        test::writeBytes(path, idxImages(3, 4, 4).substr(0, 16 + 20));
        const std::string error = test::errorOf([&] { IdxDataset ds(path); });
        QVERIFY2(test::contains(error, path) && test::contains(error, "truncated") &&
                     test::contains(error, "4x4"),
                 error.c_str());
    }

    void gzippedIdxTruncatedPayloadThrowsSampleErrorOnFirstLoad()
    {
        const std::string dir = test::makeTempDir("idx-gztrunc");
        const std::string shortPath = dir + "/short-images-idx3-ubyte.gz";
        writeGz(shortPath, idxImages(3, 4, 4).substr(0, 16 + 20));
        IdxDataset shortDs(shortPath);
        QCOMPARE(shortDs.size(), size_t(3));
        QVERIFY_THROWS_EXCEPTION(SampleError, shortDs.load(0));
        const std::string error =
            test::errorOf([&] { shortDs.load(2); }); // the error is remembered
        QVERIFY2(test::contains(error, shortPath) && test::contains(error, "truncated"),
                 error.c_str());

        const std::string cutPath = dir + "/cut-images-idx3-ubyte.gz";
        writeGz(cutPath, idxImages(200, 28, 28));
        const std::string bytes = test::readAll(cutPath);
        test::writeBytes(cutPath, bytes.substr(0, bytes.size() / 2));
        IdxDataset cutDs(cutPath);
        const std::string cutError = test::errorOf([&] { cutDs.load(0); });
        QVERIFY2(test::contains(cutError, cutPath), cutError.c_str());
        QVERIFY_THROWS_EXCEPTION(SampleError, cutDs.load(0));
    }

    void idxLabelCountMismatchErrorNamesBothFiles()
    {
        const std::string dir = test::makeTempDir("idx-count");
        test::writeBytes(dir + "/train-images-idx3-ubyte", idxImages(3, 2, 2));
        writeGz(dir + "/train-labels-idx1-ubyte.gz", idxLabels({1, 2}));
        const std::string error = test::errorOf([&] { openDataset(dir); });
        QVERIFY2(test::contains(error, dir + "/train-labels-idx1-ubyte.gz") &&
                     test::contains(error, dir + "/train-images-idx3-ubyte") &&
                     test::contains(error, "count 2"),
                 error.c_str());
    }

    void fashionNamedIdxRejectsLabelsBeyondTenClasses()
    {
        const std::string dir = test::makeTempDir("my-fashion-copy");
        test::writeBytes(dir + "/train-images-idx3-ubyte", idxImages(2, 2, 2));
        test::writeBytes(dir + "/train-labels-idx1-ubyte", idxLabels({9, 12}));
        const std::string error = test::errorOf([&] { openDataset(dir); });
        QVERIFY2(test::contains(error, "train-labels-idx1-ubyte") &&
                     test::contains(error, "label 12"),
                 error.c_str());
    }

    void fashionMnistOpensAll70000LazilyInUnderASecond()
    {
        if (!fs::exists(test::fashionMnistDir()))
            QSKIP("Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist");
        QElapsedTimer timer;
        timer.start();
        const auto ds = openDataset(test::fashionMnistDir());
        const qint64 openMs = timer.elapsed();
        QCOMPARE(ds->size(), size_t(70000));
        QCOMPARE(ds->sampleId(60000), std::string("t10k/0"));
        QCOMPARE(ds->classNames().size(), size_t(10));
        QCOMPARE(ds->classNames()[9], std::string("Ankle boot"));
        timer.restart();
        const Sample last = ds->load(69999);
        const qint64 firstLoadMs = timer.elapsed();
        QCOMPARE(last.id, std::string("t10k/9999"));
        qInfo("Fashion-MNIST: open %lld ms, first load (decodes t10k) %lld ms", openMs,
              firstLoadMs);
        QVERIFY2(openMs < 1000, qPrintable(QString("open took %1 ms").arg(openMs)));
    }

    void fashionMnistFirstTrainSampleIsAnAnkleBootMatchingTheFile()
    {
        if (!fs::exists(test::fashionMnistDir()))
            QSKIP("Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist");
        const auto ds = openDataset(test::fashionMnistDir());
        QElapsedTimer timer;
        timer.start();
        const Sample s = ds->load(0);
        qInfo("Fashion-MNIST: first train load (decodes 47 MB) %lld ms", timer.elapsed());
        QCOMPARE(s.image.type(), CV_8UC1);
        QCOMPARE(s.image.size(), cv::Size(28, 28));
        QVERIFY(s.image.isContinuous());
        const std::string labels =
            readGzPrefix(test::fashionMnistDir() + "/train-labels-idx1-ubyte.gz", 9);
        QCOMPARE(int(uint8_t(labels.at(8))), 9);
        QCOMPARE(s.label, 9);
        QCOMPARE(ds->classNames()[size_t(s.label)], std::string("Ankle boot"));
        const std::string images =
            readGzPrefix(test::fashionMnistDir() + "/train-images-idx3-ubyte.gz", 16 + 784);
        QCOMPARE(images.size(), size_t(16 + 784));
        QVERIFY(std::equal(s.image.datastart, s.image.dataend,
                           reinterpret_cast<const uchar *>(images.data()) + 16));
    }

    void imageFolderLabelsFollowSortedClassFolderNames()
    {
        const std::string dir = test::makeTempDir("classes");
        for (const char *cls : {"zebra", "cat", "dog/nested"})
            fs::create_directories(dir + "/" + cls);
        const cv::Mat gray(3, 5, CV_8UC1, cv::Scalar(100));
        QVERIFY(cv::imwrite(dir + "/zebra/z1.png", gray));
        QVERIFY(cv::imwrite(dir + "/cat/c1.PNG", gray));
        QVERIFY(cv::imwrite(dir + "/cat/c2.bmp", gray));
        QVERIFY(cv::imwrite(dir + "/dog/nested/d1.jpg", gray));
        test::writeBytes(dir + "/cat/notes.txt", "not an image");
        const auto ds = openDataset(dir);
        QCOMPARE(ds->classNames(), (std::vector<std::string>{"cat", "dog", "zebra"}));
        QCOMPARE(ds->size(), size_t(4));
        QCOMPARE(ds->label(0), 0);
        QCOMPARE(ds->label(1), 0);
        QCOMPARE(ds->label(2), 1);
        QCOMPARE(ds->sampleId(2), std::string("dog/nested/d1.jpg"));
        QCOMPARE(ds->label(3), 2);
        QCOMPARE(ds->load(3).image.size(), cv::Size(5, 3));
        QCOMPARE(ds->warnings().size(), size_t(1));
        QVERIFY(test::contains(ds->warnings()[0], "skipped " + dir + "/cat/notes.txt"));
    }

    void flatImageFolderHasUnknownLabels()
    {
        const std::string dir = test::makeTempDir("flat");
        QVERIFY(cv::imwrite(dir + "/b.png", cv::Mat(2, 2, CV_8UC3, cv::Scalar(1, 2, 3))));
        QVERIFY(cv::imwrite(dir + "/a.png", cv::Mat(2, 2, CV_8UC3, cv::Scalar(1, 2, 3))));
        const auto ds = openDataset(dir);
        QCOMPARE(ds->size(), size_t(2));
        QCOMPARE(ds->label(0), -1);
        QCOMPARE(ds->sampleId(0), std::string("a.png"));
        QVERIFY(ds->classNames().empty());
    }

    void sixteenBitPngKeepsItsDepth()
    {
        const std::string path = test::makeTempDir("png16") + "/deep.png";
        QVERIFY(cv::imwrite(path, cv::Mat(4, 6, CV_16UC1, cv::Scalar(40000))));
        const Sample s = openDataset(path)->load(0);
        QCOMPARE(s.image.type(), CV_16UC1);
        QCOMPARE(int(s.image.at<uint16_t>(3, 5)), 40000);
    }

    void rgbaPngKeepsFourChannelsInRgbaOrder()
    {
        const std::string path = test::makeTempDir("rgba") + "/alpha.png";
        QVERIFY(cv::imwrite(path, cv::Mat(3, 3, CV_8UC4, cv::Scalar(10, 20, 30, 40)))); // BGRA
        const Sample s = openImageFiles({path})->load(0);
        QCOMPARE(s.image.type(), CV_8UC4);
        QCOMPARE(s.image.at<cv::Vec4b>(1, 1), cv::Vec4b(30, 20, 10, 40));
    }

    void pureRedPngLoadsAsRgbNotBgr()
    {
        const std::string path = test::makeTempDir("red") + "/red.png";
        QVERIFY(cv::imwrite(path, cv::Mat(4, 4, CV_8UC3, cv::Scalar(0, 0, 255)))); // BGR red
        const Sample s = openDataset(path)->load(0);
        QCOMPARE(s.image.type(), CV_8UC3);
        QCOMPARE(s.image.at<cv::Vec3b>(2, 2), cv::Vec3b(255, 0, 0));
        QCOMPARE(s.id, path);
    }

    void jpegBmpAndTiffDecode()
    {
        const std::string dir = test::makeTempDir("formats");
        const cv::Mat image(7, 9, CV_8UC3, cv::Scalar(0, 0, 200));
        for (const char *name : {"a.jpeg", "b.bmp", "c.tif", "d.TIFF"})
            QVERIFY(cv::imwrite(dir + "/" + name, image));
        QVERIFY(cv::imwrite(dir + "/e.tiff", cv::Mat(5, 5, CV_16UC3, cv::Scalar(1, 2, 60000))));
        const auto ds = openDataset(dir);
        QCOMPARE(ds->size(), size_t(5));
        for (size_t i = 0; i < 4; ++i) {
            const Sample s = ds->load(i);
            QCOMPARE(s.image.size(), cv::Size(9, 7));
            QVERIFY2(s.image.at<cv::Vec3b>(3, 4)[0] > 190, s.id.c_str());
        }
        const Sample deep = ds->load(4);
        QCOMPARE(deep.image.type(), CV_16UC3);
        QCOMPARE(deep.image.at<cv::Vec3w>(0, 0), cv::Vec3w(60000, 2, 1));
    }

    void garbageNamedPngIsSkippedWithAWarning()
    {
        const std::string dir = test::makeTempDir("garbage");
        test::writeBytes(dir + "/bad.png", "this is not a png at all");
        test::writeBytes(dir + "/empty.jpg", "");
        QVERIFY(cv::imwrite(dir + "/good.png", cv::Mat(2, 2, CV_8UC1, cv::Scalar(5))));
        const auto ds = openDataset(dir);
        QCOMPARE(ds->size(), size_t(1));
        QCOMPARE(ds->sampleId(0), std::string("good.png"));
        QCOMPARE(ds->warnings().size(), size_t(2));
        QVERIFY(test::contains(ds->warnings()[0], "skipped " + dir + "/bad.png: "));
        QVERIFY(test::contains(ds->warnings()[1], "skipped " + dir + "/empty.jpg: empty file"));
    }

    void truncatedPngThrowsSampleErrorNamingTheFile()
    {
        const std::string dir = test::makeTempDir("truncpng");
        cv::Mat noise(64, 64, CV_8UC3);
        cv::randu(noise, 0, 256);
        std::vector<uchar> png;
        QVERIFY(cv::imencode(".png", noise, png));
        const std::string path = dir + "/cut.png";
        test::writeBytes(path, std::string(png.begin(), png.begin() + long(png.size() / 2)));
        const auto ds = openDataset(path);
        QVERIFY_THROWS_EXCEPTION(SampleError, ds->load(0));
        const std::string error = test::errorOf([&] { ds->load(0); });
        QVERIFY2(test::contains(error, path), error.c_str());
    }

    void truncatedJpegDecodesWithAWarningNamingTheFile()
    {
        const std::string dir = test::makeTempDir("truncjpeg");
        cv::Mat noise(64, 64, CV_8UC3);
        cv::randu(noise, 0, 256);
        for (const bool progressive : {false, true}) {
            std::vector<uchar> jpeg;
            QVERIFY(cv::imencode(".jpg", noise, jpeg, {cv::IMWRITE_JPEG_PROGRESSIVE, progressive}));
            const std::string cut = dir + "/cut.jpg";
            test::writeBytes(cut,
                             std::string(jpeg.begin(), jpeg.begin() + long(jpeg.size() * 2 / 3)));
            if (progressive) { // OpenCV gives up on a truncated progressive JPEG: an error
                QVERIFY_THROWS_EXCEPTION(SampleError, openDataset(cut)->load(0));
                continue;
            }
            const std::string whole = dir + "/whole.jpg";
            test::writeBytes(whole, std::string(jpeg.begin(), jpeg.end()));
            // Metadata after the image (as some cameras write) is not a problem.
            test::writeBytes(dir + "/trailer.jpg",
                             std::string(jpeg.begin(), jpeg.end()) + "trailing bytes");
            QVERIFY(openDataset(whole)->load(0).warnings.empty());
            QVERIFY(openDataset(dir + "/trailer.jpg")->load(0).warnings.empty());
            const Sample sample = openDataset(cut)->load(0); // libjpeg fills the rest with grey
            QCOMPARE(sample.image.size(), cv::Size(64, 64));
            QCOMPARE(sample.warnings.size(), size_t(1));
            QVERIFY2(test::contains(sample.warnings[0], cut + ": the JPEG data ends before") &&
                         test::contains(sample.warnings[0], "truncated"),
                     sample.warnings[0].c_str());
        }
    }

    void oversizedImagesAreRejectedFromTheirHeaders_data()
    {
        QTest::addColumn<QString>("format");
        for (const char *format : {"png", "jpg", "bmp", "tif"})
            QTest::newRow(format) << QString(format);
    }

    void oversizedImagesAreRejectedFromTheirHeaders()
    {
        QFETCH(QString, format);
        const std::string path = test::makeTempDir("huge") + "/huge." + format.toStdString();
        test::writeBytes(path, oversizedHeader(format.toStdString()));
        const auto ds = openDataset(path);
        QVERIFY_THROWS_EXCEPTION(SampleError, ds->load(0));
        const std::string error = test::errorOf([&] { ds->load(0); });
        QVERIFY2(test::contains(error, path) &&
                     test::contains(error, "image too large: 20000x20000"),
                 error.c_str());
    }

    void fileListResolvesRelativePathsAndReadsLabels()
    {
        const std::string dir = test::makeTempDir("list");
        fs::create_directories(dir + "/imgs");
        QVERIFY(cv::imwrite(dir + "/imgs/one.png", cv::Mat(2, 3, CV_8UC1, cv::Scalar(1))));
        QVERIFY(cv::imwrite(dir + "/imgs/two.png", cv::Mat(4, 5, CV_8UC1, cv::Scalar(2))));
        test::writeBytes(dir + "/list.txt", "# images\nimgs/one.png\t3\r\n\nimgs/two.png\n"
                                            "imgs/missing.png\t1\nimgs/one.png\tcat\n");
        const auto ds = openDataset(dir + "/list.txt");
        QCOMPARE(ds->size(), size_t(2));
        QCOMPARE(ds->label(0), 3);
        QCOMPARE(ds->label(1), -1);
        QCOMPARE(ds->sampleId(1), std::string("imgs/two.png"));
        QCOMPARE(ds->load(1).image.size(), cv::Size(5, 4));
        QCOMPARE(ds->warnings().size(), size_t(2));
        QVERIFY(test::contains(ds->warnings()[0], "missing.png: does not exist"));
        QVERIFY(test::contains(ds->warnings()[1], "line 6"));
    }

    void openDatasetDispatchesOnWhatThePathHolds()
    {
        const std::string dir = test::makeTempDir("dispatch");
        fs::create_directories(dir + "/idx");
        test::writeBytes(dir + "/idx/train-images-idx3-ubyte", idxImages(2, 2, 2));
        test::writeBytes(dir + "/idx/renamed.bin", idxImages(3, 2, 2));
        fs::create_directories(dir + "/pics");
        QVERIFY(cv::imwrite(dir + "/pics/p.png", cv::Mat(2, 2, CV_8UC1, cv::Scalar(1))));
        test::writeBytes(dir + "/l.lst", "pics/p.png\t0\n");
        QVERIFY(dynamic_cast<IdxDataset *>(openDataset(dir + "/idx").get()));
        QVERIFY(
            dynamic_cast<IdxDataset *>(openDataset(dir + "/idx/train-images-idx3-ubyte").get()));
        QCOMPARE(openDataset(dir + "/idx/renamed.bin")->size(), size_t(3));
        QVERIFY(dynamic_cast<ImageFolderDataset *>(openDataset(dir + "/pics").get()));
        QCOMPARE(openDataset(dir + "/pics/p.png")->size(), size_t(1));
        QCOMPARE(openDataset(dir + "/l.lst")->label(0), 0);
    }

    void openDatasetErrorsNameThePath()
    {
        const std::string dir = test::makeTempDir("errors");
        const std::string missing = dir + "/nowhere";
        QVERIFY(test::contains(test::errorOf([&] { openDataset(missing); }),
                               "does not exist: " + missing));
        fs::create_directories(dir + "/empty");
        QVERIFY(test::contains(test::errorOf([&] { openDataset(dir + "/empty"); }),
                               "no images found in " + dir + "/empty"));
        test::writeBytes(dir + "/table.csv", "a,b\n1,2\n");
        const std::string unknown = test::errorOf([&] { openDataset(dir + "/table.csv"); });
        QVERIFY2(test::contains(unknown, dir + "/table.csv") && test::contains(unknown, "unknown"),
                 unknown.c_str());
        test::writeBytes(dir + "/bad.png", "garbage");
        const std::string bad = test::errorOf([&] { openDataset(dir + "/bad.png"); });
        QVERIFY2(test::contains(bad, dir + "/bad.png") && test::contains(bad, "signature"),
                 bad.c_str());
    }
};

QTEST_APPLESS_MAIN(DatasetsTest)
#include "test_datasets.moc"
