#!/usr/bin/env python3
"""Generates internal/auth/common_passwords.txt, the password blocklist.

No download is possible when building PVARA, so the list is built from a
hand-written seed of the passwords that top every public breach corpus
(RockYou, the "10k most common" lists, NCSC's PwnedPasswords top 100k), of
local words (Pakistani names, cities, cricket, religion, the portal's own
words) and of the mutations people apply to them (digits, years, symbols,
capitalisation, leetspeak, doubling). Entries shorter than 8 characters are
dropped: the policy's minimum length (8 at the lowest setting, 15 by default)
already refuses them. Run: python3 internal/auth/tools/gen_common_passwords.py
"""
import itertools, os

top = """
password passw0rd p@ssword p@ssw0rd password1 password12 password123 password1234 passwords
123456 1234567 12345678 123456789 1234567890 12345 1234 123123 123321 654321 111111 000000
222222 333333 444444 555555 666666 777777 888888 999999 112233 121212 131313 123654 147258
147258369 159753 159357 741852963 789456 789456123 987654321 963852741 102030 112233445566
qwerty qwerty1 qwerty12 qwerty123 qwertyuiop qwertyui qwert asdfgh asdfghjkl asdf1234 zxcvbn
zxcvbnm 1qaz2wsx 1q2w3e4r 1q2w3e4r5t 1q2w3e 1qazxsw2 qazwsx qazwsxedc zaq12wsx zaq1zaq1
abc123 abcd1234 abcdef abcdefg abcdefgh a1b2c3d4 aa123456 a123456 a12345678 123abc 123qwe
letmein welcome welcome1 welcome123 monkey dragon master shadow sunshine princess football
baseball basketball soccer hockey iloveyou iloveu trustno1 superman batman starwars whatever
freedom charlie michael jennifer jordan hunter ranger buster thomas tigger robert daniel
andrew joshua matthew anthony ashley jessica amanda nicole hannah samantha summer winter
secret access admin administrator root login master123 changeme default guest user test
test123 testing tester demo letmein123 welcome2024 hello hello123 helloworld computer internet
mustang harley corvette ferrari porsche mercedes yamaha killer pepper ginger cookie cheese
chocolate banana orange apple lemon cherry flower purple silver golden diamond money
lovely loveme lover babygirl angel angels family friends forever blessed jesus christ
michelle george harry pokemon naruto minecraft fortnite liverpool chelsea arsenal barcelona
manchester juventus madrid united qwerty1234 qwerty12345 asdf asdfasdf asdfqwer zxcv
pass pass123 pass1234 passpass mypassword mypass newpassword oldpassword nopassword
temp temp123 temppass 11111111 00000000 12121212 88888888 99999999 87654321 11223344
123456a 123456q a1234567 q1w2e3r4 1a2b3c4d aaaaaa aaaaaaaa zzzzzzzz abcabc 696969 6969
fuckyou fuckoff bitch asshole jordan23 lakers yankees cowboys eagles steelers packers
starwars1 matrix hacker security passw0rd1 iloveyou1 sunshine1 princess1 football1
monkey1 dragon1 shadow1 master1 superman1 batman1 trustno1 letmein1 welcome01
""".split()

local = """
pakistan pakistani pakistan123 pakistan786 pakistanzindabad zindabad islamabad karachi lahore
peshawar quetta multan faisalabad rawalpindi sialkot gujranwala hyderabad sargodha bahawalpur
abbottabad mardan sukkur larkana gilgit skardu muzaffarabad mirpur punjab sindh balochistan
kpk khyber pakhtunkhwa kashmir azadkashmir allah allahakbar allahuakbar bismillah mashallah
inshallah subhanallah alhamdulillah muhammad mohammad muhammed ahmed ahmad ali hassan hussain
hussein usman umar omar bilal hamza zain zainab fatima ayesha aisha maryam mariam khadija
imran imrankhan nawaz sharif bhutto benazir jinnah quaid quaideazam iqbal allamaiqbal
khan malik chaudhry chaudhary butt sheikh qureshi siddiqui raja rana mirza syed shah
cricket cricket123 babarazam babar shaheen shahid afridi wasim waqar inzamam misbah sarfraz
rizwan shoaib akhtar younis boomboom greenshirts pcb psl lahoreqalandars karachikings
islamabadunited peshawarzalmi quettagladiators multansultans biryani nihari karahi chai
786 786786 786786786 12345786 7861234 pak123 pak1234 pakistan1947 1947 14august jashneazadi
azadi jannat jannah dua ramadan ramzan eid eidmubarak jummah namaz quran madina makkah
mecca kaaba hajj umrah noor rehman rahman rahim karim kareem zahid sajid majid rashid
waseem naeem saleem kashif asif arif atif adnan faisal fahad farhan irfan kamran salman
shahzad shehzad tariq zubair zeeshan junaid waqas yasir nadeem naveem sana saima sadia
nadia rabia hina amna asma uzma iqra mehwish mahnoor laiba alishba areeba anam
pvara pvaraportal recruitment government governmentjob job jobs career careers naukri
sarkari sarkarinaukri federal ministry nadra cnic passport interview candidate recruiter
applicant apply application portal regulator
""".split()

keyboard = """
qwertyuiop asdfghjkl zxcvbnm qwertyuiopasdfghjkl 1qaz2wsx3edc 1qaz2wsx3edc4rfv qazwsxedcrfv
qweasdzxc qweasd asdzxc zxcasdqwe poiuytrewq lkjhgfdsa mnbvcxz 0987654321 1234qwer qwer1234
1234asdf asdf1234 q1w2e3r4t5 q1w2e3r4t5y6 1q2w3e4r5t6y 1q2w3e4r5t6y7u zaq1xsw2 xsw2zaq1
!qaz2wsx 1qaz@wsx qwerty!@# !@#$%^&* !@#$%^ 1q2w3e4r5t6y7u8i9o0p qwertyuiop123 qwerty123456
asdfghjkl123 zxcvbnm123 qwerasdfzxcv 147852369 741852963 159753456 258456 852456 963741
""".split()

phrases = """
iloveyou iloveyoutoo iloveyouforever iloveyousomuch iloveyouallah iloveallah ilovepakistan
ilovemymom ilovemymother ilovemyfamily ilovemyself iloveyoubaby iloveyoujaan jaan jaanu
mylove myloveforever loveyouforever letmeinplease letmeinnow openupnow opensesame
thisismypassword mypasswordis thisisapassword password12345 password123456 passwordpassword
mypassword123 mynewpassword newpassword123 changeme123 changemenow pleasechangeme
correcthorsebatterystaple correcthorse batterystaple trustnoone nevergiveup neverforget
godisgreat godisgood godislove jesusislord jesuschrist thelordismyshepherd blessedbe
welcometopakistan welcometothejungle qwertyqwerty asdfasdfasdf abcabcabc abcdabcd
abcdefghijk abcdefghijkl abcdefghijklm abcdefghijklmn abcdefghijklmno abcdefghijklmnop
1234567890123 12345678901 123456789012 12345678901234 123456789012345 1234567890123456
12345678910 1234567891011 123456789101112 11112222 11223344556677 1122334455 1234512345
123451234512345 123123123 123123123123 123321123 321321321 112112112 147147147 159159159
0123456789 01234567890 9876543210 98765432100 00000000000 000000000000000 111111111111111
aaaaaaaaaaaaaaa passwordpassword1 passwordispassword mypasswordispassword donttellanyone
secretpassword supersecret supersecretpassword topsecret mysecret mysecretpassword
administrator123 adminadmin admin12345 admin123456 rootroot root1234 toor guestguest
letmeinletmein welcomewelcome helloworld123 helloworld12345 hellohello goodmorning
goodnight goodluck happybirthday happydays happylife lifeisgood lifeisbeautiful
""".split()

base = list(dict.fromkeys(top + local + keyboard + phrases))

suffixes = ["", "1", "12", "123", "1234", "12345", "123456", "!", "@123", "786", "007", "2024", "2025", "2026"]
prefixes = ["", "my"]
leet = str.maketrans({"a": "@", "o": "0", "e": "3", "i": "1", "s": "$"})

out = set()
for w in base:
    for p in prefixes:
        for s in suffixes:
            out.add(p + w + s)
    out.add(w + w)
    out.add(w.translate(leet))
    out.add(w.translate(leet) + "123")
    out.add(w.capitalize() + "123")
    out.add(w[::-1])
# years and dates people use as passwords
for y in range(1950, 2031):
    out.add(f"{y}{y}")
    out.add(f"pakistan{y}")
    out.add(f"password{y}")
    out.add(f"welcome{y}")
for d in range(1, 32):
    for m in range(1, 13):
        for y in (1990, 2000):
            out.add(f"{d:02d}{m:02d}{y}")

words = sorted(w.lower() for w in out if len(w) >= 8 and " " not in w)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "common_passwords.txt"), "w") as f:
    f.write("# Common passwords refused by the password policy (NIST SP 800-63B-4 blocklist).\n")
    f.write("# Generated by internal/auth/tools/gen_common_passwords.py; do not edit by hand.\n")
    for w in words:
        f.write(w + "\n")
print(len(words), "entries")
