// plot/font.h — a 5x7 bitmap font for the text in plots (chapter 3).
//
// Plots need tick labels, titles and captions, and nothing more: a fixed-width 5x7 pixel font
// covering printable ASCII plus a few symbols the book uses (ε, α, σ, λ, δ, θ, μ, →, ≤, ≥, ±, ×, and
// ℓ, ∞ for the norms ℓ2 and ℓ∞) is enough and keeps the project free of font files. The glyph data lives in font.cpp.
#pragma once
#include <string>

namespace stablenn {

// Chapter 3: glyph geometry in pixels at scale 1. Characters advance by kGlyphAdvance (one blank
// column between glyphs); lines are kLineHeight apart (two blank rows).
constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kGlyphAdvance = 6;
constexpr int kLineHeight = 9;

// Chapter 3: one glyph, 7 rows of 5 characters, '#' for ink and '.' for background.
struct Glyph {
  const char* rows[kGlyphHeight];
};

// Chapter 3: the glyph of a Unicode code point; code points the font lacks give a hollow box, so a
// missing character is visible rather than silently dropped.
const Glyph& glyph_for(char32_t code_point);

// Chapter 3: whether the glyph has ink at (row, column); false outside the 5x7 box.
bool glyph_ink(const Glyph& glyph, int row, int column);

// Chapter 3: the code points of UTF-8 text; malformed bytes become U+FFFD (drawn as a box).
std::u32string decode_utf8(const std::string& text);

// Chapter 3: the UTF-8 bytes of code points (the inverse of decode_utf8 on valid text), so text can
// be split by characters rather than bytes when it is wrapped.
std::string encode_utf8(const std::u32string& code_points);

}  // namespace stablenn
