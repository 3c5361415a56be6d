// Model cards: any text either parses or throws std::runtime_error naming the card; a parsed
// card survives a round trip through its own JSON unchanged.
#include "FuzzTarget.h"

#include "core/model/ModelCard.h"

#include <filesystem>
#include <stdexcept>

using namespace heatlens;

HEATLENS_FUZZ_TARGET(model_card)
{
    const std::string source = fuzz::scratchDir() + "/model.json";
    const std::string text(reinterpret_cast<const char *>(data), size);
    ModelCard card;
    try {
        card = parseModelCard(text, source);
    } catch (const std::runtime_error &e) {
        fuzz::requireNamed(e, source);
        return;
    }
    const std::string once = modelCardToJson(card);
    ModelCard again;
    try {
        again = parseModelCard(once, source);
    } catch (const std::runtime_error &e) {
        fuzz::violated(std::string("a card Heatlens wrote does not parse: ") + e.what());
    }
    if (modelCardToJson(again) != once)
        fuzz::violated("a card changes in a round trip through its JSON");
}
