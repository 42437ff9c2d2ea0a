"""Function-name normalization per platform."""

from __future__ import annotations

import pytest

from workers.grouping.functions import family_for_platform, trim_function_name


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("MyApp::Renderer::draw(Frame const&) const", "MyApp::Renderer::draw"),
        (
            "std::vector<int, std::allocator<int> >::push_back(int const&)",
            "std::vector<T>::push_back",
        ),
        ("unsigned int parse(char const*, unsigned long)", "parse"),
        ("main::$_0::operator()() const", "main::lambda::operator()"),
        ("{lambda(int)#1}::operator()(int) const", "lambda::operator()"),
        ("Foo::`anonymous namespace'::bar(int)", "Foo::`anonymous namespace'::bar"),
        ("?A0x1b2c3d4e::helper()", "`anonymous namespace'::helper"),
        ("foo(int) [clone .cold.1]", "foo"),
        ("memcpy@@GLIBC_2.14", "memcpy"),
        ("_CallbackThunk@12", "_CallbackThunk"),
        ("operator<<(std::ostream&, Foo const&)", "operator<<"),
        ("svc::config::load::h8f1c2d3e4a5b6c7d", "svc::config::load"),
        ("<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop", "alloc::vec::Vec<T>::drop"),
        ("<T as core::fmt::Debug>::fmt", "core::fmt::Debug::fmt"),
        ("-[ViewController buttonTapped:]", "-[ViewController buttonTapped:]"),
        ("@objc ViewController.buttonTapped(_:) -> ()", "ViewController.buttonTapped"),
        ("closure #1 in ProfileViewModel.load()", "ProfileViewModel.load"),
        ("<redacted>", "<redacted>"),
    ],
)
def test_native_symbols_are_trimmed_to_the_function(symbol, expected):
    assert trim_function_name(symbol, "native") == expected


def test_unity_csharp_names_lose_their_arguments():
    assert trim_function_name("Shop.Game:Update (float)", "csharp") == "Shop.Game:Update"


@pytest.mark.parametrize("platform", ["python", "javascript", "java", "ruby", "php"])
def test_other_platforms_keep_function_names(platform):
    assert trim_function_name("Foo::bar(int)", platform) == "Foo::bar(int)"


@pytest.mark.parametrize(
    ("platform", "family"),
    [
        ("cocoa", "native"),
        ("c", "native"),
        ("node", "javascript"),
        ("python", "other"),
        (None, "other"),
    ],
)
def test_platform_families(platform, family):
    assert family_for_platform(platform) == family
