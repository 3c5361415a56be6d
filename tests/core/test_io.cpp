#include "core/io/AtomicFile.h"
#include "core/io/Npy.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

using namespace heatlens;
namespace fs = std::filesystem;

namespace {

// A float map with negative, tiny, huge and non-finite values, different in every pixel.
cv::Mat sampleMap(int rows, int cols)
{
    cv::Mat map(rows, cols, CV_32FC1);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            map.at<float>(r, c) = float(std::sin(r * 31.0 + c) * std::pow(10.0, (r + c) % 7 - 3));
    if (rows * cols >= 3) {
        map.at<float>(0, 0) = -0.0f;
        map.at<float>(rows - 1, cols - 1) = std::numeric_limits<float>::infinity();
        map.at<float>(0, cols - 1 - (rows == 1)) = std::numeric_limits<float>::denorm_min();
    }
    return map;
}

} // namespace

class IoTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void npyRoundTripKeepsShapeAndEveryBit()
    {
        const std::string dir = test::makeTempDir("npy-roundtrip");
        for (auto [rows, cols] : {std::pair{1, 1}, {1, 9}, {7, 13}, {224, 224}, {3, 1000}}) {
            const cv::Mat map = sampleMap(rows, cols);
            const std::string path = dir + "/m.npy";
            writeNpy(path, map);
            const cv::Mat back = readNpy(path);
            QCOMPARE(back.size(), map.size());
            QCOMPARE(back.type(), CV_32FC1);
            QVERIFY2(test::bitwiseEqual(back, map),
                     (std::to_string(rows) + "x" + std::to_string(cols)).c_str());
        }
        cv::Mat nanMap(2, 2, CV_32FC1, cv::Scalar(std::numeric_limits<float>::quiet_NaN()));
        writeNpy(dir + "/nan.npy", nanMap);
        QVERIFY(std::isnan(readNpy(dir + "/nan.npy").at<float>(1, 1)));
    }

    void npyWritesNonContinuousRegionsRowByRow()
    {
        const std::string dir = test::makeTempDir("npy-roi");
        const cv::Mat big = sampleMap(20, 30);
        const cv::Mat roi = big(cv::Rect(3, 4, 10, 5));
        QVERIFY(!roi.isContinuous());
        writeNpy(dir + "/roi.npy", roi);
        QVERIFY(test::bitwiseEqual(readNpy(dir + "/roi.npy"), roi));
    }

    void npyHeaderIsPaddedToSixtyFourBytes()
    {
        const std::string dir = test::makeTempDir("npy-header");
        for (auto [rows, cols] : {std::pair{1, 1}, {12, 345}, {1000, 1000}, {99999, 1}}) {
            const std::string path = dir + "/h.npy";
            writeNpy(path, cv::Mat(rows, cols, CV_32FC1, cv::Scalar(1.5f)));
            const std::string bytes = test::readAll(path);
            QCOMPARE(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
            const size_t headerLen = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
            const size_t dataStart = 10 + headerLen;
            QCOMPARE(dataStart % 64, size_t(0));
            QCOMPARE(bytes[dataStart - 1], '\n');
            const std::string dict = bytes.substr(10, headerLen);
            QVERIFY2(test::contains(dict, "'shape': (" + std::to_string(rows) + ", " +
                                              std::to_string(cols) + ")"),
                     dict.c_str());
            QVERIFY(test::contains(dict, "'descr': '<f4'"));
            QCOMPARE(bytes.size(), dataStart + size_t(rows) * size_t(cols) * sizeof(float));
        }
    }

    void numpyLoadsWhatWriteNpyWritesAndViceVersa()
    {
        if (!test::pythonCanImport("numpy"))
            QSKIP("Debian's python3-numpy is not installed");
        const std::string dir = test::makeTempDir("npy-numpy");
        const cv::Mat map = sampleMap(5, 8);
        writeNpy(dir + "/ours.npy", map);
        // numpy loads our file, checks it, and writes -2x (2-D, exact) and its first row (1-D).
        const std::string script = R"(
import sys, numpy
a = numpy.load(sys.argv[1])
assert a.dtype == numpy.float32 and a.shape == (5, 8), (a.dtype, a.shape)
assert a.flags.c_contiguous
with open(sys.argv[2], 'wb') as f:
    numpy.save(f, (-2 * a).astype(numpy.float32))
with open(sys.argv[3], 'wb') as f:
    numpy.save(f, a[0].copy())
print(repr(float(a[2, 3])))
)";
        QString output;
        const int code = test::runPython(script,
                                         {QString::fromStdString(dir + "/ours.npy"),
                                          QString::fromStdString(dir + "/theirs.npy"),
                                          QString::fromStdString(dir + "/row.npy")},
                                         &output, 60000);
        QVERIFY2(code == 0, qPrintable(output));
        QCOMPARE(output.trimmed().toDouble(), double(map.at<float>(2, 3)));
        const cv::Mat theirs = readNpy(dir + "/theirs.npy");
        QCOMPARE(theirs.size(), map.size());
        cv::Mat expected = -2 * map;
        QVERIFY(test::bitwiseEqual(theirs, expected));
        const cv::Mat row = readNpy(dir + "/row.npy");
        QCOMPARE(row.size(), cv::Size(8, 1));
        QVERIFY(test::bitwiseEqual(row, map.row(0)));
    }

    void stacksAreWrittenMapByMapInPlaceAndKeptWhenReopened()
    {
        const std::string dir = test::makeTempDir("npy-stack");
        const std::string path = dir + "/maps.npy";
        {
            NpyStackFile stack(path, 4, 5, 8);
            stack.write(2, sampleMap(5, 8));
        }
        // Unwritten maps read as zeros; a reopened stack of the same shape keeps what it holds.
        size_t count = 0;
        QVERIFY(test::bitwiseEqual(readNpyStackMap(path, 2, &count), sampleMap(5, 8)));
        QCOMPARE(count, size_t(4));
        QCOMPARE(cv::countNonZero(readNpyStackMap(path, 0)), 0);
        {
            NpyStackFile again(path, 4, 5, 8);
            again.write(3, -sampleMap(5, 8));
        }
        QVERIFY(test::bitwiseEqual(readNpyStackMap(path, 2), sampleMap(5, 8)));
        cv::Mat negated = -sampleMap(5, 8);
        QVERIFY(test::bitwiseEqual(readNpyStackMap(path, 3), negated));
        // numpy reads it as [4, 5, 8] float32.
        if (test::pythonCanImport("numpy")) {
            QString output;
            const int code = test::runPython("import sys, numpy\na = numpy.load(sys.argv[1])\n"
                                             "print(a.shape, a.dtype, float(a[2, 1, 3]))\n",
                                             {QString::fromStdString(path)}, &output, 60000);
            QVERIFY2(code == 0, qPrintable(output));
            QVERIFY2(output.startsWith("(4, 5, 8) float32"), qPrintable(output));
        }
        // Another shape, a position beyond the stack, a map of another size: named, refused.
        for (const auto &attempt : std::vector<std::function<void()>>{
                 [&] { NpyStackFile(path, 5, 5, 8); },
                 [&] { NpyStackFile(path, 4, 5, 8).write(4, sampleMap(5, 8)); },
                 [&] { NpyStackFile(path, 4, 5, 8).write(0, sampleMap(8, 5)); },
                 [&] { readNpyStackMap(path, 9); }}) {
            try {
                attempt();
                QFAIL("accepted");
            } catch (const std::runtime_error &e) {
                QVERIFY2(std::string(e.what()).find(path) == 0, e.what());
            }
        }
        QVERIFY(test::bitwiseEqual(readNpyStackMap(path, 2), sampleMap(5, 8)));
    }

    void readNpyErrorsNameTheFile()
    {
        const std::string dir = test::makeTempDir("npy-errors");
        const std::string missing = dir + "/missing.npy";
        QVERIFY(test::contains(test::errorOf([&] { readNpy(missing); }),
                               missing + ": cannot be opened"));

        const std::string text = dir + "/text.npy";
        test::writeBytes(text, "hello, this is not numpy");
        const std::string notNpy = test::errorOf([&] { readNpy(text); });
        QVERIFY2(test::contains(notNpy, text) && test::contains(notNpy, "not a version 1 .npy"),
                 notNpy.c_str());

        std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }";
        dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
        const std::string f8 = dir + "/f8.npy";
        test::writeBytes(f8, std::string("\x93NUMPY\x01\x00", 8) + char(dict.size() + 1) + '\0' +
                                 dict + "\n" + std::string(8, '\0'));
        const std::string wrongType = test::errorOf([&] { readNpy(f8); });
        QVERIFY2(test::contains(wrongType, f8) && test::contains(wrongType, "float32"),
                 wrongType.c_str());

        const std::string cut = dir + "/cut.npy";
        writeNpy(cut, sampleMap(4, 4));
        const std::string bytes = test::readAll(cut);
        test::writeBytes(cut, bytes.substr(0, bytes.size() - 5));
        const std::string truncated = test::errorOf([&] { readNpy(cut); });
        QVERIFY2(test::contains(truncated, cut) && test::contains(truncated, "truncated"),
                 truncated.c_str());
    }

    void writeNpyRejectsNonFloatMapsWithoutWriting()
    {
        const std::string dir = test::makeTempDir("npy-reject");
        const std::string path = dir + "/u8.npy";
        const std::string error = test::errorOf([&] { writeNpy(path, cv::Mat(3, 3, CV_8UC1)); });
        QVERIFY2(test::contains(error, path) && test::contains(error, "float32"), error.c_str());
        QVERIFY(
            test::contains(test::errorOf([&] { writeNpy(path, cv::Mat(3, 3, CV_32FC3)); }), path));
        QVERIFY(test::entries(dir).empty());
    }

    void atomicWriteReplacesContentAndLeavesNoTemporary()
    {
        const std::string dir = test::makeTempDir("atomic-ok");
        const std::string path = dir + "/out.txt";
        writeTextAtomically(path, "first");
        QCOMPARE(test::readAll(path), std::string("first"));
        writeFileAtomically(path, [](std::ostream &out) { out << "second, longer"; });
        QCOMPARE(test::readAll(path), std::string("second, longer"));
        QCOMPARE(test::entries(dir), std::vector<std::string>{"out.txt"});
    }

    void atomicWriteKeepsOldFileWhenWriterThrows()
    {
        const std::string dir = test::makeTempDir("atomic-throw");
        const std::string path = dir + "/keep.txt";
        writeTextAtomically(path, "old content");
        bool thrown = false;
        try {
            writeFileAtomically(path, [](std::ostream &out) {
                out << std::string(100000, 'x'); // half-written new content
                throw std::logic_error("writer failed");
            });
        } catch (const std::logic_error &e) {
            thrown = std::string(e.what()) == "writer failed";
        }
        QVERIFY2(thrown, "the writer's own exception reaches the caller");
        QCOMPARE(test::readAll(path), std::string("old content"));
        QCOMPARE(test::entries(dir), std::vector<std::string>{"keep.txt"});

        // Also when nothing existed before: no file, no temporary.
        const std::string fresh = dir + "/fresh.txt";
        QVERIFY(test::contains(test::errorOf([&] {
                                   writeFileAtomically(fresh, [](std::ostream &) {
                                       throw std::runtime_error("nothing to write");
                                   });
                               }),
                               "nothing to write"));
        QCOMPARE(test::entries(dir), std::vector<std::string>{"keep.txt"});
    }

    void atomicWriteIntoMissingFolderFailsNamingThePath()
    {
        const std::string dir = test::makeTempDir("atomic-missing");
        const std::string path = dir + "/no/such/folder/file.txt";
        const std::string error = test::errorOf([&] { writeTextAtomically(path, "x"); });
        QVERIFY2(test::contains(error, "cannot write " + path), error.c_str());
        QVERIFY(test::entries(dir).empty());
    }

    void temporarySiblingsAreHiddenUniqueAndBeside()
    {
        const std::string dir = test::makeTempDir("atomic-sibling");
        const std::string a = temporarySiblingPath(dir + "/model.pt");
        const std::string b = temporarySiblingPath(dir + "/model.pt");
        QVERIFY(a != b);
        QCOMPARE(fs::path(a).parent_path().string(), dir);
        QVERIFY(fs::path(a).filename().string().rfind(".model.pt.tmp-", 0) == 0);
        test::writeBytes(a, "payload");
        commitTemporary(a, dir + "/model.pt");
        QCOMPARE(test::readAll(dir + "/model.pt"), std::string("payload"));
        QCOMPARE(test::entries(dir), std::vector<std::string>{"model.pt"});
        const std::string target = dir + "/missing-dir/x.pt";
        test::writeBytes(b, "payload");
        QVERIFY(test::contains(test::errorOf([&] { commitTemporary(b, target); }),
                               "cannot write " + target));
        QCOMPARE(test::entries(dir), std::vector<std::string>{"model.pt"}); // b was removed
    }
};

QTEST_GUILESS_MAIN(IoTest)
#include "test_io.moc"
