"""Rules added for real shoppers' language (2026-12): things the shopper already has, product
questions, needs inside other talk, compounds, features, measures, sizes, occasions as events."""
import pytest

from bot.needs import normalise, rules
from bot.needs.vocab import load_vocab


def _fields(mentions):
    return {(m.field, m.value) for m in mentions}


def _products(extractor, text):
    return [n.product for n in extractor.extract(text)]


# --- rule functions (no model) ----------------------------------------------------------------

@pytest.mark.parametrize("text,sizes", [
    ("your sizes are way off", set()),
    ("shoe storage for a small hallway", set()),
    ("a coat for a small dog", {"S"}),
    ("wish you sold tall jeans", {"tall"}),
    ("suit, chest 40", {"40"}),
    ("nursing bras 34D", {"34D"}),
    ("reading glasses +1.5", {"+1.5"}),
    ("chinos 34 waist 32 leg", {"34", "32"}),
    ("too small, have you got it in a large?", {"L"}),
])
def test_sizes_said_the_way_shoppers_say_them(text, sizes):
    assert {m.value for m in rules.find_sizes(text)} == sizes


@pytest.mark.parametrize("text,expected", [
    ("it can't be over £250", {("price_max", 250), ("currency", "GBP")}),
    ("I don't want to spend more than £50", {("price_max", 50), ("currency", "GBP")}),
    ("over £250", {("price_min", 250), ("currency", "GBP")}),
])
def test_a_negated_floor_is_a_ceiling(text, expected):
    assert _fields(rules.find_prices(text)) == expected


@pytest.mark.parametrize("text,found", [
    ("dinosaur ones if you have them", {("attributes", "dinosaur")}),
    ("any AA ones coming back?", {("attributes", "aa")}),
    ("the other ones were cheaper", set()),
    ("the white ones", set()),
])
def test_what_the_wanted_ones_look_like(text, found):
    assert _fields(rules.find_described_ones(text)) == found


def test_the_device_a_product_fits_is_an_attribute_not_a_product():
    assert _fields(rules.find_compatibility("a case for an iPhone 15")) == {("compat", "iphone 15")}
    assert _fields(rules.find_compatibility("smartwatch that works with iphone")) == \
        {("compat", "iphone")}
    assert rules.find_compatibility("looking for an iPad for my son") == []


@pytest.mark.parametrize("text,found", [
    ("slow cooker 6 litre", {("attributes", "6 litre")}),
    ("tights 40 denier", {("attributes", "40 denier")}),
    ("head torch 300 lumens", {("attributes", "300 lumens")}),
    ("I'm 6ft 4 and need jeans", set()),
    ("want bath towels 6 in white", set()),
])
def test_measures_are_attributes(text, found):
    assert {(m.field, m.value) for m in rules.find_all(text) if m.field == "attributes"} == found


def test_tog_is_an_attribute():
    assert ("attributes", "2.5 tog") in _fields(rules.find_all("baby sleeping bag 2.5 tog"))


def test_an_ordinal_after_a_possessive_is_a_birthday():
    assert ("occasion", "birthday") in _fields(rules.find_all("for my husband's 40th"))
    assert ("occasion", "birthday") not in _fields(
        rules.find_all("my parents' 40th wedding anniversary"))


def test_a_scent_is_one_attribute():
    found = {m.value for m in rules.find_all("a candle, vanilla scented") if
             m.field == "attributes"}
    assert found == {"vanilla scented"}


def test_an_aged_child_is_a_recipient():
    assert ("recipient", "girl") in _fields(rules.find_all("for a 5 year old girl"))
    assert ("recipient", "child") in _fields(rules.find_all("for my 10-year-old"))


def test_typos_are_corrected_against_the_right_vocabulary():
    assert normalise.correct_word("jumpr") == "jumper"  # not "jump" of "jump leads"
    assert normalise.correct_word("cordles") == "cordles"  # not "candles"
    assert normalise.correct_describing_word("cordles") == "cordless"
    assert normalise.correct_describing_word("wireles") == "wireless"
    assert normalise.correct_word("bagless") == "bagless"  # an attribute, not "bangle"
    assert normalise.correct_word("below") == "below"  # a function word, not "blow"
    assert ("attributes", "wireless") in _fields(rules.find_vocabulary("headfones wireles"))


def test_occasions_are_events_not_activities():
    occasions = set(load_vocab().occasions.values())
    assert {"birthday", "wedding", "housewarming", "end of term"} <= occasions
    assert not {"camping", "hiking", "school", "holiday", "new home"} & occasions


# --- the pipeline -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "my kettle is making a weird noise",
    "the dress was perfect for the wedding, thank you!",
    "the sofa cushions have gone flat",
    "my son's school shoes have a hole in after a month",
    "the plant pot leaked all over my windowsill",
    "Is the parka machine washable?",
    "How big is the large suitcase?",
    "does the air fryer come with a recipe book?",
    "I returned the blender last week",
    "'; DROP TABLE needs; --",
    "I was only refunded half the amount",
    "do you accept Apple Pay?",
    "can I talk to an actual human please",
    "who delivers for you?",
])
def test_things_the_shopper_has_or_asks_about_are_not_needs(extractor, text):
    assert extractor.extract(text) == []


def test_a_need_in_a_sentence_after_order_talk(extractor):
    needs = extractor.extract("the delivery guy was lovely btw. any leather gloves for my dad?")
    assert [n.product for n in needs] == ["leather gloves"]
    assert needs[0].recipient == "father"


def test_the_owned_item_is_dropped_and_the_wanted_one_kept(extractor):
    assert _products(extractor, "the kettle I got is fine but I also need a toaster in "
                                "matching cream") == ["toaster"]
    assert _products(extractor, "I returned the blender, can you recommend a better blender "
                                "under 100?") == ["blender"]


@pytest.mark.parametrize("text,product", [
    ("hose reel wall mounted", "hose reel"),
    ("need coat hangers, the velvet ones, pack of 20", "coat hanger"),
    ("grey school trousers, age 9-10, x3", "school trousers"),
    ("size 12 high waisted jeans, dark blue", "jeans"),
    ("Organic cotton dungarees for my niece please", "organic cotton dungarees"),
    ("robot vacuum 250€ max", "robot vacuum"),
])
def test_compound_products(extractor, text, product):
    assert _products(extractor, text) == [product]


@pytest.mark.parametrize("text,product", [
    ("microwave with grill, black, under £120", "microwave"),
    ("backpack for uni that fits a 15 inch laptop", "backpack"),
    ("phone case for an iphone 15, less than 20 bucks", "phone case"),
    ("any pet camera so I can watch the dog at work?", "pet camera"),
    ("want a heated throw for the sofa, grey or cream", "throw"),
])
def test_features_fits_and_places_are_not_products(extractor, text, product):
    assert _products(extractor, text) == [product]


@pytest.mark.parametrize("text,product", [
    ("do you sell pogo sticks?", "pogo stick"),
    ("I'm after a croquet set, under £40", "croquet set"),
    ("hamster tunnel please", "hamster tunnel"),
])
def test_products_the_vocabulary_does_not_know(extractor, text, product):
    assert _products(extractor, text) == [product]


def test_greetings_and_pronoun_phrases_are_not_products(extractor):
    assert _products(extractor, "hiya, after some black leather chelsea boots, size 8") == \
        ["leather chelsea boot"]
    assert _products(extractor, "need a stroller and a diaper bag, nothing fancy") == \
        ["stroller", "diaper bag"]


def test_capitalised_ordinary_words_are_not_brands(extractor):
    need = extractor.extract("Birthday present for my mum, she's always out in the garden. "
                             "Gardening gloves maybe? below £25")[0]
    assert need.brand is None and need.product == "gardening gloves"
    assert need.occasion == "birthday" and need.price_max == 25


def test_prenominal_describing_words(extractor):
    need = extractor.extract("a gas barbecue, Weber if you've got them")[0]
    assert (need.product, need.attributes, need.brand) == ("barbecue", ["gas"], "weber")
    gift = extractor.extract("what's a good present for a teenage boy? he likes gaming, "
                             "around £30")[0]
    assert "gaming" not in gift.attributes and gift.recipient == "teenager"
    game = extractor.extract("family board game for christmas, nothing too complicated")[0]
    assert "family" in game.attributes and game.recipient is None


def test_activities_and_product_lines_are_not_occasions_or_recipients(extractor):
    speaker = extractor.extract("Looking for a bluetooth speaker to take camping")[0]
    assert speaker.occasion is None
    coat = extractor.extract("Hi, do you have any men's wool coats in charcoal, size 42?")[0]
    assert coat.recipient is None
    headphones = extractor.extract("Sony headphones for my boyfriend's birthday")[0]
    assert headphones.recipient == "boyfriend"


def test_anniversary_ordinal_and_gift_recipients(extractor):
    need = extractor.extract("It's my parents' 40th wedding anniversary and I want to get them "
                             "a photo frame")[0]
    assert need.occasion == "anniversary" and need.recipient == "parents"
    teacher = extractor.extract("teacher gift for end of term, under £15")[0]
    assert teacher.recipient == "teacher" and teacher.occasion == "end of term"


def test_a_bare_number_after_the_product(extractor):
    assert extractor.extract("black ankle boots 5")[0].size == ["5"]
    towels = extractor.extract("want bath towels 6 in white")[0]
    assert towels.quantity == 6 and towels.size == []


def test_a_wish_inside_a_complaint_is_a_need(extractor):
    needs = extractor.extract("not a complaint but I wish you sold vegan walking boots")
    assert [n.product for n in needs] == ["walking boot"] and needs[0].attributes == ["vegan"]


@pytest.mark.parametrize("text", ["is the parka in stock", "is the Northvale parka still available?"])
def test_a_stock_question_about_one_product_is_a_need(extractor, text):
    assert _products(extractor, text) == ["parka"]
