// phoneKey and phoneDigits (store/phone.h): the one key each way of writing a number maps to.
#include "store/phone.h"

#include <gtest/gtest.h>

#include <string>

namespace callflow {
namespace {

constexpr const char* kLondon = "442079460000";

TEST(PhoneKeyTest, PlusCountryCodeDropsThePlus) {
  EXPECT_EQ(phoneKey("+442079460000", "44"), kLondon);
  EXPECT_EQ(phoneKey("+44 20 7946 0000", "44"), kLondon);
  EXPECT_EQ(phoneKey("+1 212 555 0100", "44"), "12125550100");
  // The default country plays no part once the number says its own.
  EXPECT_EQ(phoneKey("+44 20 7946 0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("+33 1 23 45 67 89", "44"), "33123456789");
}

TEST(PhoneKeyTest, PlusIsFoundAfterLeadingBlanks) {
  EXPECT_EQ(phoneKey("  +44 20 7946 0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("\t+1 212 555 0100", "44"), "12125550100");
}

TEST(PhoneKeyTest, PlusIsTakenAsWrittenEvenBeforeZeros) {
  // "+" means international: a leading 0 after it is not a trunk prefix to rewrite.
  EXPECT_EQ(phoneKey("+0207946", "44"), "0207946");
}

TEST(PhoneKeyTest, DoubleZeroInternationalPrefix) {
  EXPECT_EQ(phoneKey("0044 20 7946 0000", "44"), kLondon);
  EXPECT_EQ(phoneKey("00442079460000", "1"), kLondon);
  EXPECT_EQ(phoneKey("001 212 555 0100", "44"), "12125550100");
  EXPECT_EQ(phoneKey("00 33 1 23 45 67 89", "44"), "33123456789");
}

TEST(PhoneKeyTest, NationalTrunkZeroTakesTheDefaultCountry) {
  EXPECT_EQ(phoneKey("020 7946 0000", "44"), kLondon);
  EXPECT_EQ(phoneKey("02079460000", "44"), kLondon);
  EXPECT_EQ(phoneKey("07700 900123", "44"), "447700900123");
  // The same national digits under another default country.
  EXPECT_EQ(phoneKey("020 7946 0000", "1"), "12079460000");
  EXPECT_EQ(phoneKey("01 23 45 67 89", "33"), "33123456789");
}

TEST(PhoneKeyTest, NorthAmericanTenDigitsWithCountryOne) {
  EXPECT_EQ(phoneKey("2125550100", "1"), "12125550100");
  EXPECT_EQ(phoneKey("(212) 555-0100", "1"), "12125550100");
  EXPECT_EQ(phoneKey("212.555.0100", "1"), "12125550100");
  // Already eleven digits with the 1: kept.
  EXPECT_EQ(phoneKey("1 212 555 0100", "1"), "12125550100");
  EXPECT_EQ(phoneKey("+1 (212) 555-0100", "1"), "12125550100");
  // Ten digits mean nothing special under another default country.
  EXPECT_EQ(phoneKey("2125550100", "44"), "2125550100");
  // Not ten digits: as written.
  EXPECT_EQ(phoneKey("5550100", "1"), "5550100");
  EXPECT_EQ(phoneKey("21255501000", "1"), "21255501000");
}

TEST(PhoneKeyTest, OtherDigitsAreTakenAsInternational) {
  EXPECT_EQ(phoneKey("442079460000", "44"), kLondon);
  EXPECT_EQ(phoneKey("442079460000", "1"), kLondon);
  EXPECT_EQ(phoneKey("12125550100", "44"), "12125550100");
}

TEST(PhoneKeyTest, SipAndTelUris) {
  EXPECT_EQ(phoneKey("sip:+442079460000@pbx.example.com", "1"), kLondon);
  EXPECT_EQ(phoneKey("sips:+442079460000@pbx.example.com:5061", "1"), kLondon);
  EXPECT_EQ(phoneKey("sip:02079460000@10.0.0.1", "44"), kLondon);
  EXPECT_EQ(phoneKey("sip:00442079460000@pbx", "1"), kLondon);
  EXPECT_EQ(phoneKey("sip:2125550100@192.168.1.20:5060", "1"), "12125550100");
  EXPECT_EQ(phoneKey("tel:+44-20-7946-0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("tel:020-7946-0000", "44"), kLondon);
  // The host's digits never leak into the key.
  EXPECT_EQ(phoneKey("sip:+442079460000@10.20.30.40", "44"), kLondon);
  EXPECT_EQ(phoneKey("442079460000@10.20.30.40", "44"), kLondon);
  // A user part without digits has no key, whatever the host.
  EXPECT_EQ(phoneKey("sip:anonymous@10.0.0.1", "44"), "");
  EXPECT_EQ(phoneKey("sip:@10.0.0.1", "44"), "");
}

TEST(PhoneKeyTest, PunctuationIsIgnored) {
  EXPECT_EQ(phoneKey("+44 (20) 7946-0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("+44.20.7946.0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("+44/20/7946/0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("(020) 7946 0000", "44"), kLondon);
  EXPECT_EQ(phoneKey("020-7946-0000", "44"), kLondon);
  EXPECT_EQ(phoneKey("0044-(0)20?", "44"), "4420");
}

TEST(PhoneKeyTest, BracketedTrunkZeroOfInternationalFormsIsDropped) {
  EXPECT_EQ(phoneKey("+44 (0)20 7946 0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("0044 (0)20 7946 0000", "1"), kLondon);
  EXPECT_EQ(phoneKey("(0)20 7946 0000", "44"), kLondon);  // national: the 0 is the trunk 0
}

TEST(PhoneKeyTest, TelParametersAreNotPartOfTheNumber) {
  EXPECT_EQ(phoneKey("tel:+44-20-7946-0000;ext=456", "1"), kLondon);
  EXPECT_EQ(phoneKey("tel:7946-0000;phone-context=+44-20", "44"), "79460000");
}

TEST(PhoneKeyTest, EveryFormOfOneNumberGivesOneKey) {
  for (const char* form :
       {"+44 20 7946 0000", "0044 20 7946 0000", "020 7946 0000", "(020) 7946-0000", "442079460000",
        "sip:+442079460000@pbx", "tel:+44-20-7946-0000", " +44 20 7946 0000"}) {
    EXPECT_EQ(phoneKey(form, kDefaultCountry), kLondon) << form;
  }
}

TEST(PhoneKeyTest, NoDigitsGivesEmpty) {
  for (const char* number : {"", " ", "+", "anonymous", "+-() .", "sip:", "tel:", "@host",
                             "\xD9\xA1\xD9\xA2"}) {  // Arabic-Indic digits are not 0-9
    EXPECT_EQ(phoneKey(number, "44"), "") << number;
    EXPECT_EQ(phoneKey(number, "1"), "") << number;
  }
}

TEST(PhoneKeyTest, DefaultCountryConstantIsBritish) { EXPECT_EQ(kDefaultCountry, "44"); }

TEST(PhoneDigitsTest, KeepsAsciiDigitsInOrder) {
  EXPECT_EQ(phoneDigits("+44 (20) 7946-0000"), kLondon);
  EXPECT_EQ(phoneDigits("a1b2c3"), "123");
  EXPECT_EQ(phoneDigits(std::string("1\0"
                                    "2",
                                    3)),
            "12");
  EXPECT_EQ(phoneDigits(""), "");
}

}  // namespace
}  // namespace callflow
