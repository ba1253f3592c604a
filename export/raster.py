"""A small RGB raster canvas for the benchmark chart, written as PNG: numpy + zlib, no imaging library.

What the chart needs and nothing more: filled rectangles, axis-parallel lines, anti-aliased dots, text from a
pre-rendered glyph atlas, PNG output. The glyphs are Aileron Regular (dotcolon.net, released into the public
domain; the font Pillow embeds as its default) rendered by Pillow at three sizes, ASCII only; other characters
are drawn as "?". ``python -m export.glyph_atlas`` rebuilds the atlas (needs Pillow, a development
dependency); the runtime never imports Pillow, which saved 12.9 MB of the installer bundle.
"""

from __future__ import annotations

import base64
import functools
import io

import numpy as np

from inference.png import encode_png, hex_rgb

SIZES = (13, 15, 19)

# the glyph atlas (numpy .npz, base64); rebuild with `python -m export.glyph_atlas`
_GLYPHS = (
    "UEsDBC0AAAAIAAAAIQDHNSY2//////////8OABQAczEzX3BpeGVscy5ucHkBABAA6BYAAAAAAADRDAAAAAAAAKVYB1hUxxb+t1EWEVcgKErEiKIB"
    "URS7xooaG3afNTGKyLMDQrC8aFCxx44dE1GwRGJBJSoCFkAs6CPs3QUUVAQFESICGuW+M3MXNQohX979du9/ZubMzDlnZs45czcPGTV46FgZ/LHQ"
    "caqn7xQfx872jovmuzo62ztOm+Pj5zN59ldzfKZ6svq+k2f6elK97/TJcz2p3Lxdh7btnVs42y+2/6eP2k1Ufvyrcwz1bsFN7MhKlS/U9JypFatg"
    "GK+IYWAX1nILwdKb2jt3fIkIcdpvC1gJL4RSoQ1gdrL+QcbWNWgQa8WcYd/15MO4SVONeShmrTFC7Rd+omXsSjiJPURl6xlQPz0mGrP2TjfFvOVq"
    "zu+eehQjJ1M/91IsfNFfNFpzAeqwfFG/1/rdeIvuZf4L6uMK2In2w55iDU1mW9H6mzzXQ6zV+7eUwZcbGxTxWW4gGunNliaPZ9TpiXbixAIixibK"
    "mojjngOa3A7AT3kBxLU/VZduBCgyAuS8WzOxDlB3ggzGGbNk0vzNHpTps0Shk/zmFg2vcRQ1kmhmpdMNPD3O63XZt+V4uwxVGXmzO9omAwd8IS/s"
    "SLpYwUU04cjKrJ63Y1PfgMlk5AcWQNg80o+WxJ3k7/hGQlametbO+AxWsu3kJhoPVNoFnRUPBtSCRcLM46TRyiFYPBaQVYpQKdmf0V8g/YRhVbRL"
    "z6BzQOQCaIqtsUgQPn1fJ2m70WN8iV7DFtIrogkJH8vszTZHpB1gQf0xeQa9omxImKmMv3b4o5w1JOHeM8q6+tlQldKi+lxDU/EToH8JXMky6CTK"
    "KsuV7dh7WqnRzab+ETm8P3rdrGCyLs9ZzWUeVqtqHWtCo7Vpmb+S5CtPmci2XAVu0XxflEtKLrnEoU9RKwa9CtwZ9Mvvw23zuAuDJq8KBUFIBUw2"
    "pmXGE9/Gg0ayNVpgTwvqUcL7W51m5kHga70LL5uFpsIpgogepTDNnwKjfZG0ygkP00MsePt6ScDezzhqsmdyPLSKCzwpxYhho8dOXIGQXIEt4qcf"
    "KbboCcm1Gtg1TdLlV3cJdStS0jaZA2UrlJr4vZA5kC0HFOKTH1VA33zIsgJgFr0RaB2fnRHMTq1feuZh2vfeF00VEaHAvd6Aow/qiVOuCZvNaSdv"
    "Mq4THwpnkRzFwGcwf03r1vcJ8MsGmfrXDYD1L/d160wwgKQR8golGaL9OXR/ZMrxijeHwZkqBvI7/PRi/B1+MlUZg3nRO0Hq6xaj0x/9FCYF3lBs"
    "T0QLkWzWowwq3bdy07B1tHYvi8sfOsHk0UK5SViK1N69DMaFXpBvjKa9FacXwmg32oTr728lD3CZ5LywBA1F8jv9BNhzPf6A7OYOVd1oOnl2h/Ux"
    "/o9gupL8g99R4M53qJ/eCWgem5HqQcOkoU74R8eCav9UXfn0O0ILMgmKbEup7MReTcNOkEPaHelGdFF/Xj8gbqUVQ9mIxGBeISeb3GAmnPnxoNXV"
    "O0twOqwpx45RuxtxYmAR21XfxwwEgq6MYC5inOQDu17X3WgP4/zR8NHhkw3G6FvG60P281YtFzreQRqkUl32SJ6AlFh9I/32Cr6JJz32tUCjcNan"
    "T4HLxoy49f0vbSNZ/dYfM9oqdpiUCxvR6aUrFr807vYH7aL2ohqRyRilo/qer5xaloerE2jnJm7/Ku7gxOSTbEu4FPxgC3X3FXyqhlu0GckrGkrz"
    "bhP7cVTl7wvlxODrLkU84hzyRyatEsxf2GM9W5Cvy7OycksoBp0jXyLLGoP6r+pT9cpI+FxkHVqWW7iJgjbzvKt0jJbrJOxWxtFkVzChoCt76M7L"
    "6t0PDe0vJQw+z9q1ws+0jdAuOl0XQ26ic/6XwNCiFri+mM0Ruqqe2IwRxupWYi1JhYZSjYkphEWMOOWLIUXkaL7OJfEGJmVqI5uzgdOEcEfpgCu+"
    "ftrCcOJ3HDEQQwzCoMsrAzEqw0BEbOOEam6OLRcw46eGbBy2dfYa/MaHwNoG/EVbdM3dnappMwQZx8NCurCUHL5L3gjAIY184tWlrKFntNpGdDTs"
    "41Yiuas5QkaBooHYglUMoP6pPN5vIKrv85GUeVxnY/aMy9Lu61MZh91qIJiAWX+Xudpfteq9A5PmHJxEU3R+LTcpHIzg6+QLUvVXXSQu++zBDG30"
    "k1jZImUe4ze/tJx3P/tAxXHTrR3ScPYFc6XRe7/8UurvW/yXhv5ryKMnwU18wvJA69dMp3Ry8fASGLl6O5HngxnZnjisnnXjSmf0gme4pP+yEER7"
    "SKTTY+t8Y4NV7oSFVlowkE4nJ7OMDMZMnGUgeuWZGbjOLDAQroUaQ79DwQaiWfEgg6l3JRqIhmXs/WXCg0dRLKZ6FPSB3OsZHSHdXKbV/nA6UE0Y"
    "NSofrUUzRnWtoDruvEZReBJ8GHWA0tkhT90h92Z9MSDhYe5pF755tfooB8lGQdck7FrOUbklhm9u/QHbGjMMLmHOyc/fSljw2VsJf3orYd5bCd9U"
    "IWFopYQZ9SUJS8TsSmcvcxzIZbkX09Ig638N3kiSVbV9P28vvq7kZU3mCKn9hw0SzjghYYd8Y7hEp2ZsM4VR3iCYnfuBEmIKku0CodJeGV6bTaZZ"
    "klIeUY/P2zg2BqNok6JXKTq96AfFprPkpBJ1uh+tMYbnI3T037fD/0P8zfMpEW0NhMKOxXF4PANi9qtRL4kyGssdep3wvRG8k9jg9i8trV6xtMmf"
    "om80U+b6aEpWrwCfFVNaYlFmi0AeTI7Pwi2e8Y2Na5rDA6XZ75vXSRJGvHGldzClFZS0tQXUr5r0/p0OUorgR3EvEyZlbWBVODUKWLYVuDAHo47Z"
    "/a7E5SHAgiPYPh3pHUxLyLt1yIO+CXZ82yeWRlIU9cwERkcvC+TTx9IRtH6e1IYVZovD6X37CQXtpkUsvofvYdmxAsMzKI7Ir/hZ5XRkfM2eXviP"
    "QcIyKafsknV4F0PzzP4W2SzjD91Ny5dvi+H32epuOCdrVMISkLGZxlh6VQaTrKGkzv1JCGQ5PMY8cijkyQri8jdKI/cWLWtYwdXMw5YvlubPY9sX"
    "te958OKB7RwmCGq+FvlcO8WV+bx2yQXp3vI6hw2wqFWBMIyNWNOf8ckS2Qqt606vdiFsjAR+R2DpgTNfzcssLVjMhHDgV1nPRRRXahya/pwPSmEe"
    "F228byxX8ZKFH0tN3LdBQzsH0XTUdxoS7SoengSfhsM4OronGlXLxp/GMVo9iXkqEOPuk0U1NqMqZJgmHDkpKi0rWqErxQGKhpvpuhT0+Lelou3H"
    "PmhaavZOU8IdCrNrqwjJ24x7QEgW6MKyFbqgjdEThsjNk/wJl6Trg6iv6Xpt+j5z7D6sUh3ZY1ZBUfjT8Z9LDkrDYrLtF4gOUxgdXwubw3d1W4w/"
    "mFUJi73pwirCiIOKWrGishbrNERU8jE6iEorkcLhSGq/sE/G2mEblXVrPqHZNq12kQw/7lOYJY+uVUH5idfRz5kruXtaw26D9s44G4RaCV6wOaoT"
    "vpPBOaCnZekcpzaiCmmiMKm6xUPtXel6CmHk7blAXKeaBPIXFYglPo884MhOufoibdh6v9y9t9O8Cm8/8fbda26EJ9RYxfJFOoOdRbkb+6RArojz"
    "VTqp91ATbhiliqRCE/7uJFX/V2BYKWxfrqsitPfI70jQ+lE3Kjne68Uq70XxtgmZSzlLi2ffcE73sv5VyuAmmtpkn3UTVwkPBq3V3R9EzP7wfTEf"
    "Aff55ulE/y6ijO0n6a98T7jqyPcsFfz3LQWjoDRdCvvmERJviab3psDsDXlbTNHS/Y7cJ4t3Us1U7Tseqdc3//woVBvW/+kOr2owrmZgDt06NjM/"
    "ZGto+eCFaWkZsQ6wrfgMIRdhXe5f26guqX22JLIp6jSAZo8OPYrtMSEfmJd+93ZfOqZL5FLfBhSOe1c5aGuRLpmmt3Jdq7M7R/YNT6QY4Skq65R5"
    "weoGVXoIGcl+ovIG+7RzccaseLrxlta1LG+If9MF99g8xNL10CPJ5iF5TNXjtWuYnhveUPz4jS5d0fkyuBUbLT8FVY6uFRaEo91zVeeTm30QOwZ4"
    "0H3hXI8os+c04dZl510sng09w/xrSpYMScleRKqeHQJWVLBoEhbBYq8MdR4MbJXHwr171o2R3KiJAofR15I8CWzzXFo+bQxZNCXU38fJb7EE7Np0"
    "30uURpbXrf/KBrN/pvugF2LJ334Vbf2Y8m3zovnsQygiStozGKNlb/lRJoDr3R08Cwghz/SaB7fxuSwtci7qRu/aeh4gIvkXyoA0frt7/ZhYA2F8"
    "LJZMbvn2/A4tkiHXGxwr61qLGsZXzYH88Gd+dzUN3+eN/P1VbSLaU+X2cwbqXUNv4pN6LNGHOo+ZTo5NNTI2rkG1Ieh/UEsDBC0AAAAIAAAAIQD5"
    "hWws//////////8MABQAczEzX21ldGEubnB5AQAQADYEAAAAAAAAVgEAAAAAAAC1k7FOxDAMhh2npU3ae4duBakT0g0ghpvYQCwMTKjiikBCHGoR"
    "C0LqO/BC92aHk8Y4iFMHJDp9cew/fxz38/L64upGwRu81+tuuOvr06o+ezyum6q+3/Svfft8u+nXnYuft09DR/HhoX3paH14smyq5VFTfVR//awG"
    "9y1gCxoMUUKUBlqpPBBgDgURZaMNsREN56HUJpynhDI4IMpgS3oZEa0woZ3drvQVpO/qlQYkKrwDS7sU/+Hgv0gHV86LoXMdZRwjB5N7QIllfF9V"
    "klOvos0eZemQkNQKzfdU8kRZYgVTVCt6UmGD03FvD8yMZ8AFk/6dF6vIm8sLSiyHnCj17tU0dSrhWhV3XG45F0v8jSZlG+YqflWZydJ7iTspuwXr"
    "oUynCbTCWJkp5bzIc+onZ5pYVpFdPmP0Z7gJG6nWfk+T3Ih7pak7jty/UFDFdEvqneshfgFQSwMELQAAAAgAAAAhAGS8SGn//////////w8AFABz"
    "MTNfbWV0cmljcy5ucHkBABAAhAAAAAAAAABIAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaSuo6Cell9UUpSYF59flJIKEndLzClOBYoX"
    "ZyQWpAL5GkY6mjoKtQoUAC5eBmYGAFBLAwQtAAAACAAAACEArhnvtP//////////DgAUAHMxNV9waXhlbHMubnB5AQAQAIkdAAAAAAAAeg8AAAAA"
    "AACtWQdc1Mfyn7vjaALSpRwokSZiEorYCyVqCHYiFoxgrIkERZ76LBGDUWxBjT7AXoL6j0/jM8aIMdGoARRUkCLFIE2kCyfHHQfc/mf397vDaORp"
    "8vbD7X5/u7NldmZnZ5avJ3w4ftIMAayANS7z5i//OMplaB+Xtf/wcHHv47IgMio6KvyzOZFR8+bT+jHhS5bPx/rli8KXzsdv10HeXl7u/dz7rOvz"
    "V5N+EJG8/AcAvW+IXCu0IYgsws+X8zdJPie0HjCwbIn3KQbOeH72GRaLshTZT4viEElSIV+btkyON79Fy/oOpbJD4YnoR6c14bRGWISQAo8zwkL1"
    "0M4xRqw0WUPG0HKeNJc8DQGwbQ8NIvGZAKOIaxAZtxrArPm7T7l1j8gh5DtT1m0eqTjPQBCJVenChVJhEIkgxjCD7A4jh4qwISxbTsqH8jS0+5bG"
    "qrkAhqWXBeBJxq1S6kJinTUgDlyt1A1QjaeUcfWV4YalezUbkJSrp4YB8qi00ktuFBqWxrZECA8yXpIu+hJH+BCnhoAnltaKaO3jpZRiHMCkgpZ0"
    "LwDrrQXNLQ+R1KjijJNQywyRL+mPuVWwHhj9nmjNL9Ayk3QqlAS37ofCIGNW9zYZzi/fj3jxyLDu6gCxaCbt4Zr0UNpWn2kGL2jAnybr2ZhdngYQ"
    "WClE2ewE0JXj17vkXYD3iAPAcOIKYE9GIVnJMsw2pWDWq4kOGJYEn4npIJs20dxGbkuLX2NpvvkOzcM7hFQHiDnmM4g+5kvraf2x05iJnkzBPDCX"
    "klz3hOdkAlYUaGGvTamnSNLtOVillZ6TxEjijureCqEV23VBsu6P3GgYfQGIFHQLFXe6o+lKCTmg1xQKHz3SgvUKxf4Xt6z3TZFrJVPutctpft8O"
    "M7ebFMZG0PyBFWaeP1O4dQFmgmIq3SEXacUuyouwpCfFwphyxQP6vaHJX29uxyQQP43Br//chHeYhCPatMYQZwQhxGIsceKApkncxBNjd1+9cOyO"
    "A1a0sQFBMKeQMeVwp/YkA35fGnXD+BuA4Vcba04gg+6ti3Ucsq4DxFPOQ4kReLkjiJKKGLWkZg0rrQuSBbTs8/A4a+hXuZt9e9bFcMM2o1wwoeqM"
    "+KXh6QVk1022QNviBzxGsxKxfRY9Q8jagDuZjP4WSbdkQPRO7g5clQ3CsHZdyFqPYAESL216X39gyTncg1UP5cXr+ZP6Lc/GwkYOuFd/woB+3gyO"
    "sQMHOA6n5+tzoEHJKU132zGCLf5bgDn3eOWIOcWDY0d/bi6MweNxs3qUdkDjVpyamp11zwQCK3poPiTmgtrFCNY0iSC+aoj+uMYVADpbS1uzQmn/"
    "kb/JqvYaoMF7MlbsUnASIGMFVaK1YEXm/NKUv0IEI8lvA3UDm2JhHJlIZ5bCUKYk04i5YRut+bxRBAnFHuLA5mgA7W2PZffoyGy7O6T8MtN4MUyo"
    "5wyv8H40VxH6mNs58cPFXMXiEnbWQa/qI65iRZ6QlT0bpnAVA/5dJXsUbw4mjck2ApfUDDTW/ZlumPUoTpaI3NILBeDWSFQktzdoPbjurD2oZCMM"
    "IwORZn6b7nDiDdSCG2uXXHcUehSjnbE/UCEr3miIU2wrkRctwdXdTusnGl65AAYz4gV54EN8ECxS6Wvn33AWD8shVmB3vPLp+WXEsMfoHti0shoM"
    "OijfV/cBJBc7i5fVoeAME6ql36Ou4UHG4wzPJf50098LLZoUfgkNVhg4ynuqaxy4wvFQAS1cjmWH0p4n0iczXYec/Y4cgXBa1ql3OCgIzrrA9xZM"
    "BviNiWXtn03XTZMmOahBySF+KvHH+cdc+FlDMk/wZGjaMPU7dncald2Ze8HcAvl1IsGZuobzfUGn6LSxycUc8Kh3o/rE8flVHivG13vQYmRBf463"
    "fhwPXtwA6GawkvoaLBkuu9HQkrPBgOLB5Sn+esbv5zzAE+zavKHnSWn6znGFyXjvXIcThY5uHXZL5WLLzum2qmAQFcAUYjaSuNKLdOhBiGzG287J"
    "mUwyurbSumgj2JLpsPL372YV3luhBXDpvj6bzZ5mtsV3xuppe++7yC0gJldWd3kWp6tgLG+34NDC1IwIDqV+HJnOgNMzA8t2tn9fHgC4SC2KoKyl"
    "vr6Veg7+VRKJxLltEB5tapcgZTcYtIyjaHGNVlgzY9dGFYiGQSGXV33jwJsIu4sP1FYjhJgwJOz7S76A0ik6SZ491yryLDinpptLDHn0kYo3Rk73"
    "LwDrIS/fSQ+qxa7S1tJjb+GMpWcdBb2P1tjB+XuUReH9HZaqmYyboRP8yABerv7kbR7Zkxms9AuA3zKp2LUromFAU7K9wOncAxS088na1qJ4Czab"
    "vCU7lp4htughv+b1Uq9Qt/SIxhSukwrVcDpe9DycQ4zVMO6xmta4diPP7ei76XrcFPK8z3WB4w3T5u5vIEbT6zWvK0Z89g1Grn/DGxEMv3ggq70e"
    "jMg8/0I/geV6shLgdK4WbTvS2sNCFcptebCpr2b/URTUAlQr2jps7QhHMA9H/PU+OziXEbrWn3cROBy+SedxOFLVVh47ifnpEvXsbwYZ+8q/MMLr"
    "/J7fkNcoXeOMWDmYuFEdMdKvPKRvlYEehMc1ac0pWzXt+9KxHPKTTuTqhjWHcCN4Pw3jxgps+IQftUkaz6OwMR0R6hkjOyeo594n8+aR+Fp1n7/n"
    "//wB9NXFJEbA0gUEKgknY7Y9FUvpR2Ip+9iTilhU8xX78FWh0+hXM5HbxbtR6HTu5bd0ZToIq0fyH/advX0rBerNvhn9r680O/9JZvUgzYdF+yON"
    "uB00Isz9Pw38oGOQRrCHb2qgrWyqZowvisVqaPAkUiPg+fWhaijKydWIfSxlEVxO1MjLdlP39p3mRBuB6+UiE7SnVynbelV70NhwrkFsncCfuDM4"
    "m5gGdEF7MlVNAKnX1N1wsARrcE2hg4HLyVpF2W5z4M1F+ddGvAj6Zv1HLYyPOvV4NKdTl0PO2af5c1250+D5Q9s9YhyVxpt0cZRv1MXR9i6OnkAX"
    "R8ZdHJloOKoBDUebNBxdorbO5VRtOyE1n6u9C7FPGL/UmqNqE+t471f1smYTAx6FK3X41twNXI82cla9/ID2yeoeVxPUaNcvajSlFUNk+4MVz3Lp"
    "selRkWAqHvMUfT0/Qi/wFejI27Un6PMrmlIhu7TMikHhkHXZLcF8veBokxAS0ui1Qf1yH/lhiaB/Br1nfc5VyQpjejD3UslMzn/f67+MuKLLBL0J"
    "CiTUR5hAbMCJvIdoVTOa6yt3XUUj6rbhp8meMlnRGi0IaWNhh6lyqp6UPVcsbNCGI5courYXQ+N2VEjbTh8axWKIF51PG+Ix5LuzkiKvzl7OnSwa"
    "hoJPY1K4xa+7XshdzPCWqpk616tl1KP+ntA3hilKA28yBHXhWSXG4LDnZxDUrcIAo3FZLn7mY6B5Crc59tt+6OBaUeM5t1kE6eFQORNmliKFLfEy"
    "breBw4fgwL/oFPlRU7MBZpZBCXvB2HkuMQ7AUuWvoPc5BDaUjMYi69Zlth59hZSuZBuh9sqqjob5kJypDVNb0UWeJqUe0bFUoU0DW37P8hUphzk+"
    "/DqLenBoWmsdx26fp4FnrlHF1kpLANPKGESbi5HIVzkKApSDKUlcpfnJLEpiXLvCRhqJYFe+GKKarcCt3Q875iTDlZOUcKRqp9SGjXqcRL2gCq8G"
    "XHxDeI0xLk7kgPDH+3wouFnGuawwlczlgPuzE2rqYkOeuo13aDeTSH4owt2kqNiBHRjzsfnePKN9hSUs2GJvAfy7APdGwL0X8G8H3DsC/6bQn70v"
    "cG8NsDY6D72HvzI7zbi+aE3k1hxjmas3cuI8q1vI9uj792D7fCydMGBzpBHDHhoUpoyFbtJItjeXodcq6oZuieiO9s+S0b4nz25hhHzktpXuoQoM"
    "i0cBTCQWoL/w+JU8Yqudnfa+43wiGUUfprB0IUtFLlkYGiwub82OID7dKsbkW7KK1dTjzhqsM1XxKQLqdyWUI6CqEEoM8SpnwDiI2fe9v2NTvpdO"
    "iGIOgshiRS5VfcHyElkOes9bHw8TT1YGmSmpYdiy0Zew5z+MZLlLwEJF1WrVHDhUMVBrlmI46G199Oz2B/Dq9aF3vbqs9e5aBPGPh2lPaCQS03Y6"
    "yEYiGc1i6GAiGcHATCKx7KSy2YHEhx8P0p5ciaBHUoP0x0XcOC0Z/gDbb7toTZC5mbITd3aHL1Nd5emh/FLNO2kQkLoI9he766xtlID+njrpz57I"
    "YoL0BHiT0ainOJozWvL411Er4T9LWzNW/b3lf0osRWm4dFjZDPDtbUfRqNov0dokVsoKMMJ7tU8Zmt2S4YllhnPPK8WcaGcR8yA6XRCxDSJ2jFi9"
    "1hdLSYrQpUwb1HUv/4HkJyG48NGs+ip59c9Ge31nj0D5V90sWAKCb4ptaLmzxI5+ry3rTetjG99i7Y+VH7PSa157IEe/pWUg1+/fNX3/+xLoHecB"
    "duVyyyAS8bv8js+MR/IMb2y43svkp+obvYwvP0KPcjIVBstwr1wxrOcy2z9I9rU/1EK462p0mQoh7I2EAOK4SkUBNX07qobgoZsJxm1USRIKYAj3"
    "hKTS58BslZ6miSdGTRbHPW4rXPi/O+ndGJP/2Ul9tTEIIvNql6I+e6CUPqA1Dl07/XwGC0qlKfbgqAo2vP4TDMdD6xYKWpdaj46mtmrMNx3xMBLn"
    "X6YyCFQFirY3iWBpqeyuP/9PFjrEDDzfX7/6VAcQXwEYZipXvUpurBxPJB9Q+WKU4E/fG5BdU8VB3RFl2DipuOVGNJFk0jd0YXXkkkY8Rn5Kc1MF"
    "OiWJ6LmeTgZRLeLAFv33qtEPE1VN27+dbsOW7+uZMXUl9NU39xgags5sijah4w0TH6oswIYM9MSoeufGvBAIrxBAaTTc9921H059je5OioVMZ3yJ"
    "sB79iVGts38Co/bpDXT82gJ0qlIfHqFjH6Qvj1+QSQiP5+uAMA2jpZ5lsRBZTl0/X8X45tFMJDtUWzjZHFYcZWVwndczqju2DbNgSV0vEFzBK1x4"
    "8zycY2FCyaYJnXizDiROWtV4DW5DR3473t6P8Lbvr5IMklIn+3bUjn2UdvHtskG0NJZzj2uQxUJGQXgVc6wUWd6s9jmXxvJJAit/SGMmKbKa3eVv"
    "t9B/0IBePusOSbw/Q9o4h0X/fLMZxiuDXxJxjFQX+svpg+4GRC+2+hNcnP4PUrMulfnbmV/9bpxtETF7qXUAe8beLKPbNPGl1oXYw7cRXW+dG7VJ"
    "765uNxxSP6zf/rJ4eFX6f1BLAwQtAAAACAAAACEAaB9xI///////////DAAUAHMxNV9tZXRhLm5weQEAEAA2BAAAAAAAAFkBAAAAAAAAtZPLSsQw"
    "FIZPLr1PZ16huyp0JcxCcdGVO8WNC1dSnIqCONKKGxHmHXyhvlk8SXNMZIKIYFdf/pNzTz8urs4vrxm8wlu96cfboT6p6tOHo7qp6rvt8DJ0Tzfb"
    "YdNr/ax7HHvUx/vuucfzwfG6qdaHTfVe/fXLBehvBRMIyJEipBgKJAk7llmt5RmUSAJpYTUQuaUdF9ZjwpO9x2IkpTRlkKCWmigpUoIk8Y5SS/SQ"
    "OpaOxARwpNJWoJQ0vq6C/yJhq9K15JhXk6s0VH1KM+Cl6TyG1ptGiAqabrACZ3UkKQdz2fKAb0kkQlH8Coo97XfU8hVpIlSB8/C3Txt0WoZTNbPC"
    "+THz6gA95pfTYpfzdAEjW43/rEU2B7DZOm9mvgfem5SwNPcmcFb5ZS1pq8LP5rZf7FFEVpbQy8Eu7TS8PhwtiISObF4YS208+NYRzSrS07FEWkp/"
    "Cv8EUEsDBC0AAAAIAAAAIQAo4gCM//////////8PABQAczE1X21ldHJpY3MubnB5AQAQAIQAAAAAAAAASAAAAAAAAACb7BfqGxDJyFDGUK2eklqc"
    "XKRupaBuk2mkrqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RpGOpo6CrUKFAAufgYWBgBQSwMELQAAAAgAAAAhAM+VwAX//////////w4A"
    "FABzMTlfcGl4ZWxzLm5weQEAEAADLwAAAAAAAO8VAAAAAAAAxVoHeFTFFj6bbBrpQRARMNSAInXVIB0SDEgTBUQRRCCICEgVCFIsgIoiighKREBB"
    "UQQRokgIIaAECJCykMSQYnrdtK3Z7J43Z+beuxufKLb35vt27n/mTj135rTZ98ZOHDN+igqWQ1TIrNlLZi4OeTA4ZPWy3iHdg0MiFy5eunjGgukL"
    "F8+aTeUjZjy/ZDYrX/LsjBdmM7pr7979ej3QvVv34JeC/2JqBokIf/ij5B0AkFUTAPFZ3gCYyIt/8/G3U/wK2L2DgIepH2Q/SWigwa01tiW0+iRM"
    "yWXPykqzudLQUAnQpp3xiTbXl7Zhhd3tgc2svRhQz8xQDzF6qtmkpASgyVmvSYjWaABus3d2qYqg3iYWQF9LM0If7IHlZ5QpBK1yTKeL3kVCg+KM"
    "WPNJIMEpeHqOcYbuMhsBMiubddJDJNJMTVpg+PZ1Ixm+2jiAYZEiGq1nzBqJ6HXUgpjYW6LuNX9kM3QSmNWfizvZetf1IuyDcQCT8RvCd2M0gFsS"
    "HpxhGJ2io/reK1PqsWT3naC0/a/5+31SVbhWxcCihntZ/iHOeQ+fAehoWENvSzMhCA+DKj7ZjciaFGiG38M8q5jZMWvfObg6uP4V0VVHLWKMd6zW"
    "XRpC1eEOiGy8z+m7ta3d5LsjP3OFSpDfpXvusj+yHmdyaoatH1RowRePEtW6+i2AqnQIwGNEHs3yAtiHs7fiPEZNtQ+kJezXFW90ZcB3vdZkLBjB"
    "l3W9fl34iKc6En4DH1NGPo0+9GjTAqibEMKYSPuhOr6Xp1qNiWr2CUO00lZYBx1ulK0ZeZ8G0zSt4Zipg1K/XgsKLjbepuAVmDY3vP9YjuGRbwos"
    "1mrt69JL59+tpZBidoLg80UsC6zzZ/nTh6j4I1o7JD3Av0wrys2ejlyUiLe7eM0ZvJXoQfQGIUXevqWdCS37jL+s5S8PT6V8Pj9ToRc5/4sp9zJR"
    "7mlylIi3oubhp1gWwLvnvfmWdpFX0OhYjATdDo5XN6rHHWS7w3v+Vyn2lEML+CeBnWc/kmouPatOeJGj1uWdoGN5G459pN+vk/NuVrBarQ7Rs4yw"
    "42Czo63RjDdqNJrfa/sr/FvJvepngEdxLtuQVc2ghfU1MaQkRfgwmpu3biIgWVp3mD+uP055DwMvfO0LXpY1gfK+dfzLvrmPclXew/Top+Pn651o"
    "yl2KwukxqJyOAby/nXLXssFiONcFycbaM2MJ7sHo8HFx+CzAcPyY1pGibwF78W56N5MVZ+h4i67spT5VzBV/ANtF0Q+ecy51qrsXu8k9iH7dklm/"
    "bLRdYWPjiEvgujDFWCfmAND+oFEcAfcoY7V0GlbjnpYSfHxgkzPyL0O3lemWom/uIbjPvD5sToWxO8BgXMro0bibfQi8gy84HuDugWLBn8hdfIr9"
    "JbQQt0pouv1rV4Gm2b5xl9EhNxkdUMsoqX8oS2xkm7RBaUKquVfNFbGDqMZG25bw6QU2Js8625kQhIFMAsMccx8+nRPyHIbhfAF8R2a9J42MWDRX"
    "et1/2hVcLNcNrM8DVdoujrXsMB+vJZXQzpwA0Mec/VxYZHYNSfS+RwoaCj4Kllt1NsrKWpWAMpxvKZRge/2bkjZXxeZ4S3AODpPsgba1H8qmQUyh"
    "vwSfxvHstCQiOzE6VM6nhqc0VM6Ok5XA4UCp5hCAp/Bh4l6oH8Aao0qu9XGa0uD04ahfGovfJx2cW3/h0bCt9hQvcLVqmf6AN5n2cAkO4IvDI3IL"
    "L0yAXo3LCXbCA+Ciy6BT9xayIzgLz04c8xHuoXfjEirMl4WqgkGx9eXH+xKabNkw5MlMI5t5q7qXqF/7QYBVdq4ZRoSx6eT2PmWoO9KVkSWZmUuG"
    "LqyrZsrJjI+wgjHIpCYZKCxVlgGUJXOY0gAQV8nXVpkN8DxOZuhxZOrEI8W0IjzKlMYWD0HvF1nz3/YHh5xjzThrQifidnltH5pk5d/R+rZc+Km+"
    "pYTutm2QCw/VBEqoL66RC7+r9JVQf1wuF8aXNJNQOC6QCy/ke8iwzfZMU/43/YgZuqpFw6b/bJ/CNBKOZgVtzTdYe+SSTmtgGg35rq49zlhfntzP"
    "955jF2i+gwxsOY2bXMms0z41cKoWmYlx2Xg7e9XKWMjYJz43beV0I6m9241MVD1hvz5jyDStZThN99Av5pw9XL612lnYUPBeEI1eqFsc9kJ1Mpvp"
    "Z3Y6wYPxOWZk5PDO8mIBLBkcZpYCXLHexVB7K2PqJLx4v1+/H4tJC84sRSyfpC2hai6du6ihhtlfJ7PJ/rsbVwJs5svcUcsm1aK0fNbQrY308SD4"
    "YKk+jh/uuMxmkF0XCN4yt51SE/1AFXnN36yqJF8D057PYChjK2NKO/sCp3deMtAcXStAaEzdm8RFGPBD5VrRbVzREm+pWvWJB+UW/mt08SNkwi+q"
    "8tIE+az5rChf6ZgxcVgtJSr4lc7V/JZC/LP1b5K8HLBkibwjYeLV8hcVa+HhHyuj/GRiyEndOAl6zqt6gQPfF0tP8c9y2yvVP0gyXf9dqNzE2Xbt"
    "d6KuNpG08lCrdnJEDOnSnyzM4fDSMWcj+ThVSTZJdX0MFyT0umyDRtiE+IWWFcckTfByhb9Ua8kieZRAeSGBtZkS8r4Rd1MehEbnWIxXV0kLDvrK"
    "+MmTA4Yuup7FnYWWmYf4twb1tgzq9tROcHkxvyFhzpHAU0w1jM50h3ft64fG15XAqB8BDjwH95PiG4dfQ/NqJj07wjbaV48znejBjoHZA+KQcXMj"
    "U37tCwCY5RjDTrI6y+oJLzALJWkYROEz7lsb6psNLmB2wUuHwetru2X/rIbGVBIGfoVMrPiyifi0bMGn1T0/YWJrz6D7F104KK15YzHbCoaY8Y4F"
    "tu3Zwc1BuZbgPhk/hFfq5S3wad4wnCizfoNr6dcCT8N7YLtZMPkkk61D8WmCrW0v+fj4VXBNukxsv0YSiKmJA1iKJA+jpxBsruXn2JG2Czv0Q3s7"
    "lyLJjBiBy0fgMoHVVVfFPm4sPcR3DmpDQx98OtdGG0sYGw/g5wr2xJMKvhdXcaxWe993dicZDWI6urdpZcz50PSbeokbVqJ+QH2FgiGlVsH+dQny"
    "uBPPWwZI/dgqDvbkNd0X/FRjydtNOghaXTa9FRG+tMjETrfrT/r7eVlBuTdMlQX8QsbK722SzGn+bG8o/9lpx1kvORG6LCfirC1AgHbPdoZFKA4Y"
    "E4gPgE9ODfmW0LXmKpMiPUrrXw0buaaqmM/nttfTjaZrrwtPiphYGTtTWDO0nP6PRjcmNgfHoiOsp1QOirlyI5yoQfiuE9Wa20oy5YlnnagOzGN2"
    "UGOZw+egfrB3dVAzhSqluQx4/Cv80l2ZZ9nxCaK+LMKOiGqUutySGapIQbmHNuKbU3K7lR6k0Xo7esj7u9NxdUyH7BJpOj1/p9kfQHCddrKyoSxG"
    "uACB8Zato8IX5+P7jHCJNXB9E5RDQnISSmplOh2Q47YgQfm9s54ZRs77DKxJlKuk6epuEDVasqMT7NTOX6PpT9RCFO4kDCHK+4aBO8cBPwnXv9i8"
    "JeKh5aWvi9kGbdAaTFefV3FKWcDfpCRNJyglJTo4q9H8o+P9zYwnh/H9d9G2JTKycPcxrRHgqpFJljus6aRXTo8eewGnsxeTL5srzoxS1sHMPuO3"
    "apnoU3vaU37Ttfyir1ztrgJtkLz2VlnZd8iMCEwtai9zJfUnXCHPCDEni8tGTlR17FZX0d7BvDH2a34OTq7G710d0/kStzkI72R8vgm//tcwPYKn"
    "wb869bXC53Qp58YUGpHzk5m4ek5fLBf2xzvFF0QkNlrEDPJ2SpHZMeRdMdt/hER71pEwfa1KLdFwoIBJ3uvRINMT8H4IwZEK7Vm/CVZWuyk0HMiE"
    "S3vAQU/ACBzjRHvW59V5ONFwgPwhicZ0HlMVG4qt4XEnKvGsVuVEjcBHnSg4n6xyokbhOCcKLiU5U2MZkxwUXD3vTE2QWCEoVepZJ4pJK70T5XJN"
    "8o+bb9TqDdqNXGNBj5LqtWFha2tKejDCJ6eMByU7V+Qwa22RFPOESNKTCVbJAvdpPMP8kQz5U2dWOuvbJCsTdk3eNW2n9DkHmTnpmyfG61SRS9Zh"
    "rzLdmuHD11SX9uJVWmy6ZjRe2yTsMK7OKr7owTHZEFPSDb2VtQXbjikYMsocOLVGwf6mcyDEnXunb3EkyFsznzs/JOr6dBb+g7NmuBXMOapPezWw"
    "CUcLuzXhaKZXE47ObcKZk004Wt6Eow1NOFrWpF1cE47OdOboORcnjpa0VThKSzYp8oZti07Ln5B4Yas7PVHh7+TzOEtZp199hmPNKQYFe1QlSTx1"
    "a7+3TrbpEGu6yzzVPGc66eDXZnSYLaNxioK5Wyph94YDjrHO6WhjdN2XYynYyf2EcEvCxOFR9ZkkYVMrSOY+hi+z3MI9Ebcjm1iutU9Wlje8Di+/"
    "Oli6+mj5Whr73tPld3cuLCXfWkrdGpiPNC9JxCWvm8lSSyCzvnk9fYvteHHakGeuG3mU7eHv801ZuzooyxXeIVkxWuTGDO/D+Rrp/4LlPeoQXv8O"
    "IYVgIcnOsuJKzmyX6lKggApF35mPQ3K9Va5l86hRmy25/A6g+eZMszlzM9OOoRQ14imXmUk5ItLBStcBbEAev4It2IkckY2EVYU/0UPLTapBPIDL"
    "fDoSGdstXNd2wNcowCzi1nAhk0JAkhn8AvaAaJ0UBLrD9rKbbofMtbj00UrAFGbjpRyFn0ENfIeR0cetPzc9ruZ06dXWGCNmYTtFz264CdJraf3r"
    "zftNNMxcprDe45P7MXYKV14H692Y9zqfnV7rspZ2ZjdCGTPz/awH6UT0hNSzdBpoUedL2LpLVbCloRnMQ7ICXmFcSNvLth9zKL7k/s5gnHE7TqW+"
    "NqrKSRWCu/7jJ+x0Us4ldpe063dZH1+l5/rGVWbhuS/BKs7ygVhxUqyxB+JwaW1kD7mnlXNnh819JPSx0oGEYXYaYB2pKt88LZ08tyvFARBt5jIZ"
    "7rXsHiX7U7AKq7+XYzF+RnxIZuWH9XkZkvB6BCMHSOGGO6tO0KcmBamKrWlDHeuYwFrOzS7oZjzj0qfhqGg1H1dPEdsAIMbSBc5Y+D3RQ7SFejRS"
    "gEN9rYhExjbS4vP5ZSYEVmR7BFadE60icfVWm1Aw4HLZaFWikA+iLkj55n9WBThsXKdgkXBsZtl/lGv5ZNTcJeMDOEmG83CXDDVmmT8QkGOR71ZV"
    "3yichWUYI3N2gLVUjpG2KLQrkbAf8LgYOdRZPhFryBXphKhnuUXDOu9kpvr/RO7o2UPDepavd8Rlj3z1I10ESddC0E/HoyaqX/iVkXSBJF8nwQ1x"
    "ZKWrJuniCdK5iQXrjiiLMdOQ4/+xhRCbQsyOnjV9BFOD13WQ+ftB+YcSCtIPqBXnBKK+gy9ERNq9eDQMLuUyZnoukwXaZwgmk5M3j0LCw83UxLde"
    "+V63lhwBSccXVYKRHhfIV4U7C+/9c53eLN0Z/YspeyMz1v2zCp4augXfAZjBz2dOIUDbUAr8XGCWHmh2XC6ts7GZTLWdm9yzWypDuWW09GsM1ZHN"
    "ENyALsw32TRwclo+BkHAzhJj+rx92OVW3Ime35aZ0xYzFmJWyY4xI7+kuBoKgR+DEYC1PEY5GKMBr/AmQRgvwwDmoGMtPyn9cStrNochVQxqAEsM"
    "W0dOPolRNMTkK/q6U1xMui7WmvMPMGni+q1t84jp2dVd4HmyUaFL41eQZOSOy/S5YLwmz88sxz7hZyP/2sMHw9vc7eqJ70KLPOurYZGFua0Bbt9R"
    "bMnZJl9xwB8IEZdnk4wVJ3sTdj2M0WMePZpHeB6SqoC9hC+K/3rcQ1gvTEN3wsIGAj/CGWYeb72P8MtCb31J2CfNumnopJhzfKyALb9YCna14li9"
    "TGuuOkgxWdeYutVh0zIq76JrHdql7Uy7mXLP5dsvvhjAKG1AtgPM6WIH9pHMboClsymgTOZ1KNOGEJCpXzn8ubIM8jaav5tvyX6b2/PBJ/QUGYyz"
    "zaOaplQnXkh7O5SsUAeD/vTDZc4lQ2VcqN7Bx2LLv8vHNsgE/eozfKd0xq/JIicLF97B2eSR69eFT9iH8dykfE1bZ0pe4Q433/tO8P7jFbU/RhDM"
    "KN0wZFpuI/eqSZ4MQmYNoNWPT5wZDiiCoHiefGmlIye+/CGkA3OJ2UTn3oUmr//oxxvylkpT+CsBHjZzDzwDPbbhx7DGnNDOmRU3RW3zS7py1CKj"
    "tBsv87tMgCGvM2X8fg2TjjV0Fy3QgFsE0oXsF/Fk1sIjwT5V6i8oo+EhqecOZfWav7IMyqyF96jgA5PBg5Ezs8zZz0NklukG/ecFizMnjU3CD25M"
    "GneFrADEgWTdIvOfetO+wSoVsYFyL2RmC5LMUUn5eeWcKPnfpx1bLL1005CpWWKLUdz/Qb7FGv3/uS0GbkuvGgzJy+gguJ6wbw9/aAeecCVj7VWq"
    "solEaJKFR9D8Gph7aZTk7M8GB84yAlyR61wmu15qu4AJslj7++EjdmAsaQf35SlGY8qL4qT9L/XJLZxrBf7fZP5vTOX3MCZOKIwFzC9ZG8oYQHfI"
    "yGU+XnLUvlnu806+IZnc8r32BeE/kBNRzYyh5npmsmeah4kxhlVi2ovcog2YE2/XDQb3APbhBlm0MADfY6XXa8AlsWHpkHX2/eysb883Zb9BVqHk"
    "70qRL0l7kCP+63e//TiP3Aw9iquHske/jIaaP7efBXTlkN+oNifYyO2EoQTzGkjlfUFwOV5+bPhuEdqfd81YtK89g0l6btsOweXPCYWxw9oqwPQt"
    "A+oK5vbsbwgiB2c8QBhGAuwuY9NV5Z4G9+rNVHmdrfVY8R+pu+yLP5O+WGxqfaRAU9BI6iHN6s/XuJPlrXDvevprh2tNPTm503F8D9xB938vY0c2"
    "nN4Lslj5qsKW9jmgqviK/qPYGWL3QPJXoMEnqOI8D9NTsFnnEmVhvaoKjg7DOyAC70vgzvC7dW+wtTczb7LOEsuqpX8fnTY0csXvWk6OGXMQ44na"
    "y13Dccyj88v9xRcCii+yxfVvfB8+rue3w6/a1+M0vg71JX49yZL3z3hWxHOia5/hMgoeZYyJbugL0KbqlAr8i9K9XOIMZK+Pxu3qkkJ+apfgBHgT"
    "efjmQoUb87FpR93FVcHFYhfyq8h2notM8l3k+znAvB2ChXSAz8tcl5vEzWEEDkvaL2biUngCwwRk7mue7Jb14Td1PK02isttGPCCJUoqsxVEyTWb"
    "uopP26Sv559ZEywGOCbfzG/ADwSYiKmeHNyrN/D/tdHN1Azpq+OFX7l98jwW1jDdopvFxIM4JE0yP3J6jlBUW0sTb13731VEZtCo6N8wFOZr7yP+"
    "nMv/i/ivZIJt5lQmZnweXMn/yxLIpc0E7id+wr3nAi4tangeGU8fd/BRCmEW8T/PVvFb9a9Jr8HT/HbkTtrwzUZWs57RzFS/TzfZ26bElND0gppz"
    "S/s8UglQ2sFr2kVsXMwa0TtfT/iD9B9QSwMELQAAAAgAAAAhALvJpJL//////////wwAFABzMTlfbWV0YS5ucHkBABAANgQAAAAAAABwAQAAAAAA"
    "ALVTPU/DMBB1YidVPpqm6R/IFpAyIXUAMWRiA7EwMKGIBoGEKEoRC0Lqf+AP9Z+FZ+PrGRQxIOHp+Z3v/O6d/XFxdX557YlX8Vatus1tX52U1enD"
    "UVWX1d26f+nbp5t1v+o0f9Y+bjrwm/v2ucP+4HhZl8vDunwv/7piJfRaCOEpMQUKgSYW7bzYoq2fijkQTssZRWVKGZJzQ5Gbc1sHJSICisUOVWIg"
    "7GSAyDDMTcYEXIpzSkig3CjIEA1Nrr3N/z+kSJUXQMcwaJRYztXMHPuSmy7RuWI3GE0tamRGGXJMAUcZBZTrTGG6r8y5OXFqrApryeDpT+53zXxb"
    "QfVGutQOEReKAkhibjxB5hK4KzBt7Z+edIGOQqqMLr/c3Tq+MJc6ndMUJqajAO80NSj65ouyUT3VAlo0YifZ3Zzmq8Znnu05uiMkVV5kUQMttjfP"
    "fSWkfkac1Jx+YY2fGId0lM8F1qsGmhfm9zSOfzH9FP8TUEsDBC0AAAAIAAAAIQBOO9SP//////////8PABQAczE5X21ldHJpY3MubnB5AQAQAIQA"
    "AAAAAAAASAAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2mkrqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RpGOpo6CrUKFAAuYQZW"
    "BgBQSwECLQMtAAAACAAAACEAxzUmNtEMAADoFgAADgAAAAAAAAAAAAAAgAEAAAAAczEzX3BpeGVscy5ucHlQSwECLQMtAAAACAAAACEA+YVsLFYB"
    "AAA2BAAADAAAAAAAAAAAAAAAgAERDQAAczEzX21ldGEubnB5UEsBAi0DLQAAAAgAAAAhAGS8SGlIAAAAhAAAAA8AAAAAAAAAAAAAAIABpQ4AAHMx"
    "M19tZXRyaWNzLm5weVBLAQItAy0AAAAIAAAAIQCuGe+0eg8AAIkdAAAOAAAAAAAAAAAAAACAAS4PAABzMTVfcGl4ZWxzLm5weVBLAQItAy0AAAAI"
    "AAAAIQBoH3EjWQEAADYEAAAMAAAAAAAAAAAAAACAAegeAABzMTVfbWV0YS5ucHlQSwECLQMtAAAACAAAACEAKOIAjEgAAACEAAAADwAAAAAAAAAA"
    "AAAAgAF/IAAAczE1X21ldHJpY3MubnB5UEsBAi0DLQAAAAgAAAAhAM+VwAXvFQAAAy8AAA4AAAAAAAAAAAAAAIABCCEAAHMxOV9waXhlbHMubnB5"
    "UEsBAi0DLQAAAAgAAAAhALvJpJJwAQAANgQAAAwAAAAAAAAAAAAAAIABNzcAAHMxOV9tZXRhLm5weVBLAQItAy0AAAAIAAAAIQBOO9SPSAAAAIQA"
    "AAAPAAAAAAAAAAAAAACAAeU4AABzMTlfbWV0cmljcy5ucHlQSwUGAAAAAAkACQAZAgAAbjkAAAAA"
)  # end of _GLYPHS


@functools.cache
def _atlas(size: int) -> tuple[list[tuple[np.ndarray, int, int, float]], int, int]:
    """Per character 32-126: (alpha bitmap, x offset, y offset from the line top, advance); ascent, descent."""
    data = np.load(io.BytesIO(base64.b64decode(_GLYPHS)))
    if size not in SIZES:
        raise ValueError(f"glyph size {size} not in the atlas {SIZES}")
    pixels, meta = data[f"s{size}_pixels"], data[f"s{size}_meta"]
    glyphs, start = [], 0
    for w, h, ox, oy, advance in meta.tolist():
        glyphs.append((pixels[start:start + w * h].reshape(h, w), ox, oy, advance / 64))
        start += w * h
    ascent, descent = data[f"s{size}_metrics"].tolist()
    return glyphs, ascent, descent


class Canvas:
    """A white RGB image; coordinates in pixels, (0, 0) at the top left."""

    def __init__(self, width: int, height: int) -> None:
        self.pixels = np.full((int(height), int(width), 3), 255, np.float32)

    def _blend(self, y0: int, x0: int, alpha: np.ndarray, color: str) -> None:
        h, w = alpha.shape
        ys, xs = max(0, -y0), max(0, -x0)  # clip to the canvas
        ye, xe = min(h, self.pixels.shape[0] - y0), min(w, self.pixels.shape[1] - x0)
        if ye <= ys or xe <= xs:
            return
        a = alpha[ys:ye, xs:xe, None]
        region = self.pixels[y0 + ys:y0 + ye, x0 + xs:x0 + xe]
        region[:] = region * (1 - a) + np.array(hex_rgb(color), np.float32) * a

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, color: str) -> None:
        """Fill [x0, x1] x [y0, y1] (pixel edges rounded)."""
        c0, c1 = sorted((round(x0), round(x1)))
        r0, r1 = sorted((round(y0), round(y1)))
        self._blend(r0, c0, np.ones((r1 - r0 + 1, c1 - c0 + 1), np.float32), color)

    def line(self, x0: float, y0: float, x1: float, y1: float, color: str) -> None:
        """A 1-pixel horizontal or vertical line."""
        if round(x0) != round(x1) and round(y0) != round(y1):
            raise ValueError("Canvas.line draws horizontal and vertical lines only")
        self.rectangle(x0, y0, x1, y1, color)

    def dot(self, x: float, y: float, radius: float, color: str) -> None:
        """A filled, anti-aliased disk."""
        r = int(np.ceil(radius)) + 1
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
        cy, cx = y - round(y), x - round(x)
        alpha = np.clip(radius + 0.5 - np.hypot(yy - cy, xx - cx), 0, 1)
        self._blend(round(y) - r, round(x) - r, alpha, color)

    def text_width(self, text: str, size: int) -> float:
        glyphs, _, _ = _atlas(size)
        return sum(glyphs[_code(c) - 32][3] for c in text)

    def text(self, x: float, y: float, text: str, size: int, color: str = "#000000", anchor: str = "la") -> None:
        """Draw ``text`` anchored at (x, y) as Pillow anchors it: horizontal l/m/r, vertical a (the ascender
        line), m (halfway between ascender and descender) or s (the baseline)."""
        glyphs, ascent, descent = _atlas(size)
        x -= {"l": 0, "m": 0.5, "r": 1}[anchor[0]] * self.text_width(text, size)
        y -= {"a": 0, "m": (ascent + descent) / 2, "s": ascent}[anchor[1]]
        for char in text:
            bitmap, ox, oy, advance = glyphs[_code(char) - 32]
            if bitmap.size:
                self._blend(round(y) + oy, round(x) + ox, bitmap.astype(np.float32) / 255, color)
            x += advance

    def png(self) -> bytes:
        """The image as PNG bytes (8-bit RGB)."""
        return encode_png(np.clip(self.pixels.round(), 0, 255).astype(np.uint8), level=6)


def _code(char: str) -> int:
    return ord(char) if 32 <= ord(char) < 127 else ord("?")
