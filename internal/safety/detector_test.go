package safety

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// loadShipped loads the real rules from faq/safety, once per test binary.
var loadShipped = sync.OnceValues(func() (*Detector, error) {
	return LoadDetector(os.DirFS("../../faq"), "safety/crisis.yaml")
})

func shipped(t testing.TB) *Detector {
	t.Helper()
	d, err := loadShipped()
	if err != nil {
		t.Fatalf("LoadDetector: %v", err)
	}
	return d
}

// crisisPositives must raise Crisis with the given category (others may
// fire too). Recall on these is the first priority.
var crisisPositives = []struct {
	text string
	want Category
}{
	// self-harm and suicide
	{"I want to kill myself", SelfHarm},
	{"i dont want to live anymore", SelfHarm},
	{"thinking of ending it all", SelfHarm},
	{"I've been cutting myself", SelfHarm},
	{"I cut myself again after masturbating because I feel disgusting", SelfHarm},
	{"everyone would be better off dead without me, I'd be better off dead", SelfHarm},
	{"they'd all be better off without me", SelfHarm},
	{"i'm going to overdose tonight", SelfHarm},
	{"kms", SelfHarm},
	{"ugh kms honestly", SelfHarm},
	{"i want to unalive myself", SelfHarm},
	{"I wish I was dead", SelfHarm},
	{"I'm suicidal", SelfHarm},
	{"having suicidal thoughts since the breakup", SelfHarm},
	{"I want to end my life", SelfHarm},
	{"i want to diiiiie", SelfHarm},
	{"i'm planning to take my own life", SelfHarm},
	{"I keep thinking about suicide", SelfHarm},
	{"i cant go on anymore", SelfHarm},
	{"I don't see the point in living anymore", SelfHarm},
	{"I hurt myself on purpose when I feel ashamed after sex", SelfHarm},
	{"i've been self-harming again", SelfHarm},
	{"I'm going to jump off a bridge", SelfHarm},
	{"I wrote a suicide note", SelfHarm},
	{"k1ll mys3lf", SelfHarm},
	{"I’m going to end it tonight", SelfHarm},
	{"sometimes I think about killing myself", SelfHarm},
	{"I WANT TO KILL MYSELF", SelfHarm},
	{"I want to d\u200bie", SelfHarm},
	{"i want to ｋｉｌｌ ｍｙｓｅｌｆ", SelfHarm},
	{"i wanna kіll myself", SelfHarm}, // Cyrillic і
	{"Im gonna slit my wrists", SelfHarm},
	{"i dont wanna be alive", SelfHarm},
	{"nobody would even notice if i was gone", SelfHarm},
	{"my friend says she wants to kill herself", SelfHarm},
	{"life isn't worth living since my diagnosis", SelfHarm},
	{"i have been stockpiling pills", SelfHarm},
	{"this dry spell is killing me and honestly I want to kill myself", SelfHarm},
	{"i'm done with life", SelfHarm},
	{"I can't stop cutting", SelfHarm},
	{"i have pills ready", SelfHarm},
	{"i'll just end it", SelfHarm},

	// sexual assault, recent or undated
	{"someone raped me last night", Assault},
	{"I was drugged and assaulted", Assault},
	{"he forced me and it happened an hour ago", Assault},
	{"i think i was raped at a party on saturday", Assault},
	{"I was sexually assaulted yesterday, what do I do", Assault},
	{"I said no but he kept going", Assault},
	{"I woke up and he was having sex with me", Assault},
	{"my drink was spiked and I woke up naked", Assault},
	{"I got r@ped", Assault},
	{"my ex forced himself on me tonight", Assault},
	{"I was raped", Assault},
	{"he took off the condom without my consent last night", Assault},
	{"he didn't stop when I told him to stop", Assault},
	{"I'm being raped by my husband", Assault},
	{"my stepdad touches me at night", Assault},
	{"I was molested at work today", Assault},
	{"I was raped when I was 12 and he raped me again last night", Assault},
	{"i was too drunk to consent and he had sex with me", Assault},
	{"my husband rapes me when he's drunk", Assault},
	{"I was forced to have sex", Assault},
	{"I think someone put something in my drink", Assault},
	{"is it normal to feel numb after being raped yesterday", Assault},
	{"a guy at the club groped me tonight", Assault},
	{"he raped me last night after we watched a movie", Assault},

	// a minor at risk
	{"my stepdad touches me at night and im 13", MinorAtRisk},
	{"an adult is sending me nudes and I'm 14", MinorAtRisk},
	{"i'm 15 and my teacher wants me to send him pics", MinorAtRisk},
	{"I think my neighbour is abusing his kids", MinorAtRisk},
	{"my daughter told me her uncle touched her", MinorAtRisk},
	{"im 12 and a grown man on discord keeps asking me for nudes", MinorAtRisk},
	{"I'm only 14 and my 30 year old boyfriend wants sex", MinorAtRisk},
	{"my uncle molests me, I'm thirteen", MinorAtRisk},
	{"(14f) a 25 year old guy keeps messaging me asking to meet up", MinorAtRisk},
	{"I'm a minor and my coach keeps touching me", MinorAtRisk},
	{"my little sister is being sexually abused by our cousin", MinorAtRisk},
	{"child abuse is happening in my house", MinorAtRisk},
	{"im 13 and a guy keeps sending me dick pics", MinorAtRisk},
	{"I am 15. my boyfriend is 24.", MinorAtRisk},
	{"my coach sends me dirty messages and I'm 15", MinorAtRisk},
	{"I'm 15 and my 19 year old boyfriend wants to have sex", MinorAtRisk},
	{"i'm 16 and my 30 year old boyfriend wants me to send pics", MinorAtRisk},
	{"14 y/o here, a man on roblox asked for pics", MinorAtRisk},
	{"my son is 12 and I found out his coach has been texting him at night", MinorAtRisk},

	// violence from a partner now
	{"my partner hits me when I say no to sex", Violence},
	{"I'm scared he will hurt me tonight", Violence},
	{"my boyfriend choked me until i passed out", Violence},
	{"my husband beats me", Violence},
	{"he threatened to kill me if I leave", Violence},
	{"I'm not safe at home, he is getting violent", Violence},
	{"my gf slapped me and locked me in the bedroom", Violence},
	{"he has a knife and he's threatening me", Violence},
	{"i am afraid to go home", Violence},
	{"my bf keeps hitting me", Violence},
	{"my wife strangled me last night", Violence},
	{"my boyfriend hits me and I want to leave him", Violence},
	{"he hits me, how do I get out", Violence},
	{"my ex is threatening to post my nudes", Violence},

	// medical emergencies
	{"my erection won't go away, it's been 5 hours and it hurts", MedicalEmergency},
	{"I think I have priapism", MedicalEmergency},
	{"I'm bleeding a lot after sex and feel dizzy", MedicalEmergency},
	{"heavy bleeding after sex and i can't stop it", MedicalEmergency},
	{"severe pain in my lower belly and a high fever", MedicalEmergency},
	{"the condom is stuck and i can't breathe", MedicalEmergency},
	{"I took too many pills", MedicalEmergency},
	{"I took too many viagra and my chest hurts", MedicalEmergency},
	{"my boyfriend passed out after sex and isn't breathing", MedicalEmergency},
	{"sudden severe pain in my testicle and I'm throwing up", MedicalEmergency},
	{"my throat is swelling after using a latex condom", MedicalEmergency},
	{"been hard for 6 hours after taking cialis", MedicalEmergency},
	{"I'm pregnant and I have terrible pain on one side", MedicalEmergency},
	{"worst headache of my life during sex", MedicalEmergency},
	{"I'm having chest pain during sex", MedicalEmergency},
	{"I'm soaking through a pad every hour", MedicalEmergency},
	{"I'm bleeding heavily after my first time", MedicalEmergency},
	{"he is unconscious, we were drinking alcohol", MedicalEmergency},
	{"my throat is closing up after kissing him, he ate peanuts", MedicalEmergency},
	{"I feel like I'm dying", MedicalEmergency},
	{"the bleeding won't stop", MedicalEmergency},
	{"my erection has lasted 4 hours", MedicalEmergency},
	{"my dick wont go down and its really painful", MedicalEmergency},
	{"i swallowed a whole bottle of sleeping pills", MedicalEmergency},
	{"i think he is having a heart attack", MedicalEmergency},
	{"my girlfriend won't wake up", MedicalEmergency},
}

// crisisNegatives must not raise Crisis: idioms, ordinary sexual-health
// questions, consent questions, and past trauma told as background.
var crisisNegatives = []string{
	"this dry spell is killing me",
	"whats the point of living together before the wedding if we already share a bed",
	"does lube kill sperm",
	"I'm dying to try anal",
	"my libido is dead",
	"killing it in bed",
	"a little spotting after my first time, is that normal",
	"my erection goes away too fast",
	"can you die from blue balls",
	"I was abused as a child and now sex is hard",
	"is it rape if we were both drunk",
	"pain during sex",
	"how long should an erection last",
	"sex after heart attack",
	"I'm 16 is it normal to masturbate",
	"my girlfriend and I are both 17, is it ok to have sex",
	"I'm 13 and I want to know about periods",
	"how do I tell my partner I'm bisexual",
	"my boyfriend hit me up on snapchat",
	"my bf wants to choke me during sex, is that safe",
	"I like it when he chokes me, how do we do it safely",
	"I cut myself shaving down there, is it infected?",
	"I can't breathe when he kisses me so passionately lol",
	"I passed out drunk after the party, did we have sex?",
	"what is priapism",
	"can viagra cause priapism",
	"I almost died laughing when he said it",
	"sex is killing my back",
	"I'd kill for a good orgasm",
	"my friend says masturbating kills brain cells",
	"I'm 15, how do condoms work",
	"I'm 14 and my boyfriend is 15, we kissed",
	"I was raped when I was 12 and now I can't enjoy sex",
	"I was raped years ago and still have flashbacks during sex",
	"my boyfriend gets jealous when I talk to other guys",
	"I feel dead inside during sex",
	"he kills me with his jokes",
	"my ex used to hit me, how do i trust someone again",
	"how do I ask my partner to choke me safely",
	"I bled the first time I had sex",
	"my erection won't go away after I cum, is that normal",
	"is it normal to feel dizzy after an orgasm",
	"what are the side effects of viagra",
	"can viagra cause a heart attack",
	"I'm having a hard time with my sex drive",
	"I have a crush on my teacher",
	"is it normal for sex to hurt the first time",
	"what does an overdose of viagra do",
	"I want to die of embarrassment, my mom found my vibrator",
	"my partner is dead set on trying a threesome",
	"I bleed a little after rough sex sometimes",
	"my period is heavy this month",
	"premature ejaculation is killing my confidence",
	"my wife says no to sex all the time",
	"he forced me to watch a movie I hated",
	"I'm 16 and my boyfriend is 16 too. we want to have sex",
	"can you get pregnant from precum?",
	"best positions for sex after a heart attack",
	"I'm 17 is it normal to not have had sex yet",
	"I hate when my erection goes down during sex",
	"is it possible to die during sex",
	"i am dead tired after sex",
	"what happens if an erection lasts more than 4 hours",
	"rape fantasies, are they normal?",
	"I'm a survivor of sexual assault and want to enjoy sex again",
	"it hurts when i pee after sex",
	"I took two birth control pills by accident",
	"i took too many birth control pills this week",
	"I'm 13 weeks pregnant, is sex safe",
	"i am 15 and my girlfriend touched my dick",
	"my dad hit me when I was a kid and now I hate being touched",
	"it hit me that I might be asexual",
	"does finasteride cause suicidal thoughts",
	"my cousin committed suicide last year and I can't feel anything during sex",
	"I'm not suicidal, just curious if antidepressants lower libido",
	"we want to try choking, is it safe",
	"i hurt myself masturbating, is that bad",
	"I'm afraid of my boyfriend finding out I faked it",
	"I get a headache after orgasm sometimes",
	"i can't breathe through my nose during oral",
	"he took my breath away",
	"I'm 14 is it normal that I think about sex all the time",
	"my boyfriend is 19, I'm 20, is the age gap weird",
	"how do i know if my partner is abusive",
	"he pushed me to try anal",
	"my husband had a heart attack last year, is sex safe for him",
	"I'm 17 and my 18 year old girlfriend wants to have sex",
	"im 16 and my 17 year old boyfriend wants to have sex",
	"I'm doing a school project on domestic violence",
	"viagra says call a doctor if erection lasts more than 4 hours",
	"my erection lasted 2 hours is that bad",
	"had sex for 3 hours and now my penis hurts",
	"blue balls hurt so bad",
	"what is the suicide rate among trans people",
	"i was raped in 2015 and it still affects me",
	"I'm killing myself trying to please her",
	"is it normal to bleed after losing virginity",
	"we are both 15 and touched each other, is that ok",
	"can you overdose on viagra",
	"does cutting sugar help ED",
	"he is dying to meet you",
	"my stepdad is nice to me",
	"I'm 14 and my crush sent me a snap",
	"my daughter is 15 and asked me about birth control",
	"my son is 13 and his teacher asked him to stay after class for extra help",
	"Writing a story where a character was raped, how do I handle it",
	"in the movie she was raped by her boss, it was hard to watch",
	"i got outed without my consent, what do i do",
	// past abuse told as background, and domestic violence as someone's job
	"i was touched by a coach when i was about 11 and now i'm 35 and tense up with my husband",
	"as a teenager i was raped at a party and at 30 i still can't relax during sex",
	"my partner was sexually assaulted decades ago and still flinches when I touch her neck",
	"my aunt is a domestic violence advocate and thinks we should try sex therapy",
}

// gapCases cover the phrasing classes a held-out evaluation found the rules
// missing (coercion or assault going on now, an overdose already taken,
// grooming of a minor, someone disclosing attraction to children) and the
// false alarm it found (a partner's past assault told as background, which
// is the sex-after-trauma FAQ), then the classes a second set written
// without sight of the rules found: indirect suicidality, someone else at
// risk of suicide, assault, a child at risk, threats and medical
// emergencies told in other words, and the asker's own past told as
// background. They are written fresh, not copied from
// that evaluation, so they test the class and not its sentences. want ""
// means the message must not be a crisis.
var gapCases = []struct {
	class string
	text  string
	want  Category
}{
	// Sexual coercion or assault happening now, in the present tense.
	{"ongoing-assault", "my husband has been forcing me to have sex for months", Assault},
	{"ongoing-assault", "she keeps pushing herself on me even though i told her no", Assault},
	{"ongoing-assault", "he is undressing me and I keep saying no", Assault},
	{"ongoing-assault", "i'm at a party and a guy is dragging me upstairs", Assault},
	{"ongoing-assault", "my boyfriend keeps having sex with me when i'm asleep", Assault},
	{"ongoing-assault", "there's a man in my room who won't leave and he's touching me", Assault},
	{"ongoing-assault", "my boss says he'll fire me if I don't sleep with him", Assault},
	{"ongoing-assault", "I told him to stop three times and he just keeps going", Assault},
	{"ongoing-assault", "my partner ignores me when I say stop in bed", Assault},
	{"ongoing-assault", "I'm so drunk and he keeps trying to have sex with me", Assault},
	{"ongoing-assault", "my girlfriend keeps groping me even though i said i don't want it", Assault},
	{"ongoing-assault", "my sister's boyfriend is forcing her to have sex", Assault},
	{"ongoing-assault", "my husband is making me have anal tonight and I said no", Assault},
	{"ongoing-assault", "he won't let me go until I do stuff with him", Assault},
	{"ongoing-assault", "the guy I'm with won't take his hands off me and I keep saying no", Assault},
	{"ongoing-assault", "my boyfriend keeps asking for anal even though I said no", ""},
	{"ongoing-assault", "I said no to a threesome and she won't stop bringing it up", ""},
	{"ongoing-assault", "I like it when he holds me down during sex", ""},
	{"ongoing-assault", "we do consensual non-consent role play, he pins me down, is that healthy", ""},
	{"ongoing-assault", "i told him no and he stopped right away, he was so respectful", ""},
	{"ongoing-assault", "my partner makes me do all the work in bed", ""},
	{"ongoing-assault", "he is making me do it his way and I love it", ""},
	{"ongoing-assault", "my cat won't stop waking me up even though i say no", ""},
	{"ongoing-assault", "I had a dream that someone was forcing me and woke up scared", ""},
	{"ongoing-assault", "my boyfriend is making me feel insecure about sex", ""},
	{"ongoing-assault", "she forced me to watch a horror movie", ""},
	{"ongoing-assault", "my partner keeps pushing until i give in", ""},

	// An overdose already taken, with or without symptoms.
	{"overdose", "i popped a handful of my antidepressants and now my heart is racing", MedicalEmergency},
	{"overdose", "i had a bottle of tylenol and took them all", MedicalEmergency},
	{"overdose", "i think i took way more than my prescribed dose", MedicalEmergency},
	{"overdose", "i've taken an overdose", MedicalEmergency},
	{"overdose", "I just swallowed 20 paracetamol", MedicalEmergency},
	{"overdose", "i've had tons of codeine tonight and i'm throwing up", MedicalEmergency},
	{"overdose", "took a bunch of xanax and can't keep my eyes open", MedicalEmergency},
	{"overdose", "he downed a full strip of sleeping tablets", MedicalEmergency},
	{"overdose", "i took all the pills in the medicine cabinet", MedicalEmergency},
	{"overdose", "I OD'd on my meds", MedicalEmergency},
	{"overdose", "my girlfriend took the rest of her prescription at once and is throwing up", MedicalEmergency},
	{"overdose", "i emptied the pill bottle", MedicalEmergency},
	{"overdose", "I swallowed my whole prescription deliberately", SelfHarm},
	{"overdose", "took double the max dose of paracetamol and feel sick", MedicalEmergency},
	{"overdose", "i took 15 of my sleeping pills", MedicalEmergency},
	{"overdose", "I take a lot of medications, is viagra safe for me", ""},
	{"overdose", "i'm on a lot of meds and my libido is gone", ""},
	{"overdose", "I took a whole pack of condoms to the party", ""},
	{"overdose", "I ate a whole box of chocolates after the breakup", ""},
	{"overdose", "i swallowed his whole load, can i get an STI", ""},
	{"overdose", "I took my pill twice today by mistake", ""},
	{"overdose", "i took the whole pack of birth control back to back to skip my period", ""},
	{"overdose", "I took a lot of drugs in my twenties and now have ED", ""},
	{"overdose", "I took 10 mg of cialis and it didn't work", ""},
	{"overdose", "what happens if you take too much viagra", ""},
	{"overdose", "how many viagra can i take in a day", ""},
	{"overdose", "took my 20mg of lexapro, can I drink", ""},

	// Grooming: an age under 18 and an adult with power, an older partner or
	// someone met online, with secrecy, gifts, flattery, pictures, meeting.
	{"grooming", "I'm 15 and my coach bought me a new phone so we can talk privately", MinorAtRisk},
	{"grooming", "I'm 14 and my 28 year old neighbor keeps inviting me over when my parents are out", MinorAtRisk},
	{"grooming", "I'm 13, my teacher told me I'm his favorite and not to tell anyone", MinorAtRisk},
	{"grooming", "im 16 and my boss sends me snaps at 2am and says its our little secret", MinorAtRisk},
	{"grooming", "i'm 12 and a guy from an online game wants my address so he can visit", MinorAtRisk},
	{"grooming", "I am 15 and my pastor says God made our relationship special", MinorAtRisk},
	{"grooming", "im 14 and my older boyfriend who is 20 gives me weed and says not to tell my mom", MinorAtRisk},
	{"grooming", "my 13 yo son's coach keeps giving him gifts and driving him home alone", MinorAtRisk},
	{"grooming", "I'm 16 and my tutor asked me to send a photo of myself in underwear", MinorAtRisk},
	{"grooming", "I'm 13 and my friend's dad gives me money and says not to tell my parents", MinorAtRisk},
	{"grooming", "im 17 and my driving instructor keeps texting me at night on his personal phone", MinorAtRisk},
	{"grooming", "my 14 year old niece says her choir director wants her to stay over at his house", MinorAtRisk},
	{"grooming", "I'm 12 and my babysitter showed me videos and said it's our secret", MinorAtRisk},
	{"grooming", "i'm 13 and this guy on insta is 25 and wants to meet up", MinorAtRisk},
	{"grooming", "I'm 16 and my boyfriend bought me a necklace, is it too soon for sex", ""},
	{"grooming", "I'm 15 and my mom bought me a vibrator, is that weird", ""},
	{"grooming", "I'm 14, please keep this a secret, how do I buy condoms", ""},
	{"grooming", "I'm 15 and my teacher wants to meet with my parents", ""},
	{"grooming", "I'm 16 and my coach said I'm the best player", ""},
	{"grooming", "i am 16 and my dad gave me money for condoms", ""},
	{"grooming", "my 15 year old asked me not to tell her dad she has a boyfriend", ""},
	{"grooming", "im 16, my girlfriend and i have a special connection, how do we know we're ready", ""},
	{"grooming", "im 17 and met my girlfriend online, she's 17 too", ""},
	{"grooming", "I'm 17 and my boyfriend says I'm beautiful", ""},
	{"grooming", "I'm 16 and my boss asked me to come in on Saturday", ""},
	{"grooming", "I'm 15 and my mom says I'm beautiful but I hate my body", ""},
	{"grooming", "I'm 16 and my dad says I have to wait until I'm 18 to date", ""},
	{"grooming", "I'm 15 and my grandma and I have a special bond", ""},

	// Sexual attraction to children, or fear of acting on it.
	{"attraction", "I have sexual feelings towards children and I'm scared of myself", MinorAtRisk},
	{"attraction", "i'm attracted to kids and i've never acted on it but i'm scared", MinorAtRisk},
	{"attraction", "i am a pedophile and i need help", MinorAtRisk},
	{"attraction", "I keep having urges to touch my little cousin", MinorAtRisk},
	{"attraction", "i'm worried i'm going to hurt a kid, i have these thoughts", MinorAtRisk},
	{"attraction", "i've been having sexual fantasies about preteens", MinorAtRisk},
	{"attraction", "I think I'm attracted to minors, what do I do", MinorAtRisk},
	{"attraction", "I'm a minor-attracted person and want help", MinorAtRisk},
	{"attraction", "Sometimes I get turned on when I bathe my daughter", MinorAtRisk},
	{"attraction", "I look at kids in a sexual way", MinorAtRisk},
	{"attraction", "i've been looking at child porn and I want to stop", MinorAtRisk},
	{"attraction", "I'm scared I'm a paedo", MinorAtRisk},
	{"attraction", "i have thoughts about kids that scare me", MinorAtRisk},
	{"attraction", "i'm afraid i'm going to molest someone's child", MinorAtRisk},
	{"attraction", "I'm attracted to women with kids", ""},
	{"attraction", "how do I explain sexual attraction to my kids", ""},
	{"attraction", "my son is 13 and has sexual thoughts about girls in his class, is that normal", ""},
	{"attraction", "my boyfriend called me a pedo because I like ddlg", ""},
	{"attraction", "is age play the same as pedophilia", ""},
	{"attraction", "I'm attracted to my daughter's soccer coach", ""},
	{"attraction", "i'm 15 and attracted to kids my age", ""},
	{"attraction", "I fantasize about my student days", ""},
	{"attraction", "He's turned on by the little girl look", ""},
	{"attraction", "what is pedophilic disorder", ""},
	{"attraction", "I think about my kids while having sex and it kills the mood", ""},
	{"attraction", "is it normal to be attracted to younger partners", ""},

	// A partner's past assault told as background is the sex-after-trauma
	// FAQ; a recent or ongoing assault of anyone still fires.
	{"partner-past", "my girlfriend was raped in a previous relationship and freezes when I touch her, how can I help", ""},
	{"partner-past", "my husband was molested long before we got together and avoids intimacy", ""},
	{"partner-past", "my wife was sexually abused when she was little, how do i make sex feel safe for her", ""},
	{"partner-past", "my boyfriend was assaulted in his past and gets flashbacks in bed", ""},
	{"partner-past", "my wife told me she was sexually assaulted before our relationship and she tenses up when we're intimate", ""},
	{"partner-past", "my fiancee was sexually assaulted a decade earlier and we want to rebuild intimacy", ""},
	{"partner-past", "my girlfriend has a history of sexual abuse, how do I support her during sex", ""},
	{"partner-past", "my wife was abused by her ex-husband in her previous marriage and now avoids sex", ""},
	{"partner-past", "my girlfriend was assaulted in the past, how can i support her in bed", ""},
	{"partner-past", "my partner was assaulted last week and panics during sex, how do I support her", Assault},
	{"partner-past", "my girlfriend was raped, how do I support her", Assault},
	{"partner-past", "my boyfriend was raped a few days ago and doesn't want to be touched", Assault},
	{"partner-past", "my partner was raped before we met and again last month by the same guy", Assault},
	{"partner-past", "my wife is being sexually abused by her ex, how do I help", Assault},
	{"partner-past", "my girlfriend was assaulted at a party on saturday, how do i support her in bed", Assault},
	{"partner-past", "my girlfriend was raped yesterday before we met up", Assault},
	{"partner-past", "my husband was abused as a child and was raped again this weekend", Assault},

	// Suicidal intent without the words: wanting it all over, not being
	// around much longer, a lethal dose looked up, a day chosen, letters and
	// a date, a method pictured. Break-ups, idioms and other people leaving
	// do not fire.
	{"indirect-suicidal", "honestly i just want everything to be over", SelfHarm},
	{"indirect-suicidal", "i'm not going to be here much longer, so it doesn't matter", SelfHarm},
	{"indirect-suicidal", "so tired of existing, every day is the same", SelfHarm},
	{"indirect-suicidal", "i wish i could fall asleep and never wake up", SelfHarm},
	{"indirect-suicidal", "been reading up on the most painless way to die", SelfHarm},
	{"indirect-suicidal", "how many of my sleeping pills would it take", SelfHarm},
	{"indirect-suicidal", "i've made my choice and i'm ending it on saturday", SelfHarm},
	{"indirect-suicidal", "my family won't have to deal with me after this weekend", SelfHarm},
	{"indirect-suicidal", "i don't see myself making it to my birthday", SelfHarm},
	{"indirect-suicidal", "i wrote letters to my parents and tonight will be the night", SelfHarm},
	{"indirect-suicidal", "i keep picturing stepping in front of a train on my way to work", SelfHarm},
	{"indirect-suicidal", "everyone would be happier if i just wasn't around", SelfHarm},
	{"indirect-suicidal", "i want this dry spell to be over", ""},
	{"indirect-suicidal", "i'm so tired of being single", ""},
	{"indirect-suicidal", "my grandad won't be around much longer and i can't think about sex", ""},
	{"indirect-suicidal", "i've decided to end it with my girlfriend this weekend", ""},
	{"indirect-suicidal", "how many viagra can i take in one day", ""},
	{"indirect-suicidal", "i googled how many calories sex burns", ""},
	{"indirect-suicidal", "i hope i don't wake up with a hangover tomorrow", ""},
	{"indirect-suicidal", "tonight is the night we finally sleep together", ""},
	{"indirect-suicidal", "we went cliff jumping on holiday and had sex on the beach", ""},
	{"indirect-suicidal", "i wish my erectile dysfunction would disappear forever", ""},

	// Someone else suicidal or self-harming now, or saying goodbye, told by
	// the person worried about them. Accidents, grief and goodbyes at
	// airports and parties do not fire.
	{"third-person", "my brother keeps talking about killing himself", SelfHarm},
	{"third-person", "my wife has been cutting herself again", SelfHarm},
	{"third-person", "i'm scared my son is going to hurt himself tonight", SelfHarm},
	{"third-person", "my best friend sent everyone a goodbye message and switched her phone off", SelfHarm},
	{"third-person", "my dad says he wants to end his life since mum left", SelfHarm},
	{"third-person", "my flatmate threatened to take his own life", SelfHarm},
	{"third-person", "my boyfriend has been starving himself and says he's better off gone", SelfHarm},
	{"third-person", "my girlfriend is suicidal and won't answer her phone", SelfHarm},
	{"third-person", "my boyfriend hurt himself during sex, his penis is sore", ""},
	{"third-person", "my husband is killing himself at work to pay the bills", ""},
	{"third-person", "i'm worried she'll hurt herself with that huge dildo", ""},
	{"third-person", "my uncle took his own life years ago and it still affects me", ""},
	{"third-person", "my girlfriend sent me a goodbye text after we broke up", ""},
	{"third-person", "he cut himself shaving his balls", ""},
	{"third-person", "we had our goodbye kiss at the airport", ""},
	{"third-person", "my mate said goodbye to everyone at his leaving party", ""},

	// Assault told in other words: a no or tears ignored, too drunk or asleep
	// to consent, dragged off, clothes torn, freezing, sex demanded under a
	// threat, being sold to others, a friend or relative assaulted. Kink the
	// asker wanted and fiction do not fire.
	{"assault-other-words", "he carried on even though i was crying and begging him to stop", Assault},
	{"assault-other-words", "i was blackout drunk and he slept with me anyway", Assault},
	{"assault-other-words", "my housemate climbs into my bed when i'm asleep and touches me", Assault},
	{"assault-other-words", "she got me wasted and then took my clothes off and had sex with me", Assault},
	{"assault-other-words", "a man pulled my sister into the toilets at the club and groped her", Assault},
	{"assault-other-words", "my coworker cornered me and ripped my shirt off", Assault},
	{"assault-other-words", "i froze and he just kept going", Assault},
	{"assault-other-words", "my boss makes me give him a blowjob or he'll fire me", Assault},
	{"assault-other-words", "my boyfriend sells me to his friends for drug money", Assault},
	{"assault-other-words", "my girlfriend's ex spiked her drink and raped her at the weekend", Assault},
	{"assault-other-words", "he held me down and i loved every second", ""},
	{"assault-other-words", "she tore my clothes off and we had amazing sex", ""},
	{"assault-other-words", "we got really drunk and slept together, was it a mistake", ""},
	{"assault-other-words", "he made me cum so hard", ""},
	{"assault-other-words", "my wife makes me want to have sex all the time", ""},
	{"assault-other-words", "the film had a scene where he drags her into a room", ""},
	{"assault-other-words", "i'm a nurse who works with trafficked women and it has killed my libido", ""},
	{"assault-other-words", "viagra made me have sex for hours", ""},

	// A child at risk in other words: clothes-off "games", hands in pants,
	// an adult asking where a child lives or paying to meet, sextortion,
	// video calls without clothes, sexual messages from an adult to a child.
	// Teenagers together and parents' ordinary help do not fire.
	{"minor-other-words", "my 9 year old said her swim coach makes her take her clothes off", MinorAtRisk},
	{"minor-other-words", "my daughter is 7 and her grandad has a game where she has to be naked", MinorAtRisk},
	{"minor-other-words", "my son is 12 and a man on roblox keeps asking where he lives", MinorAtRisk},
	{"minor-other-words", "im 13 and a guy online says he'll post my pics unless i send a video", MinorAtRisk},
	{"minor-other-words", "i found explicit messages from my dad to a 14 year old girl", MinorAtRisk},
	{"minor-other-words", "my niece is 5 and i caught my uncle with his hand down her pants", MinorAtRisk},
	{"minor-other-words", "my cousin is 15 and she's sneaking out to meet a 26 year old man from snapchat", MinorAtRisk},
	{"minor-other-words", "im 12 and a man online wants to video call me with no clothes on", MinorAtRisk},
	{"minor-other-words", "my 15 year old son is sending his girlfriend nudes, how do i talk to him", ""},
	{"minor-other-words", "my son is 10 and his friends play a game where they get naked in the pool", ""},
	{"minor-other-words", "my 13 year old wants to meet a 19 year old youtuber at a convention", ""},
	{"minor-other-words", "i'm 14 and my mum bought me a train ticket to see my dad", ""},
	{"minor-other-words", "my 16 year old daughter asked where i lived when i was her age", ""},
	{"minor-other-words", "i'm 15 and my boyfriend is 15, he bought me a necklace", ""},
	{"minor-other-words", "my daughter is 12 and has to keep her room tidy and not tell lies", ""},
	{"minor-other-words", "my friend is 16 and she's about 5 foot, is it normal she hasn't had her period", ""},

	// Threats and violence in other words: a reported threat ("he texted
	// he'd kill me"), injuries described, violence against a parent at home,
	// stalking, hiding from someone, sextortion. Idioms with a joke, a game or
	// a family member finding out do not fire.
	{"threats", "my boyfriend texted me that he'll kill me if i go out tonight", Violence},
	{"threats", "my mum's boyfriend told her he would slit her throat", Violence},
	{"threats", "he messaged saying he's going to come round and beat me up", Violence},
	{"threats", "my ex told my friend he's going to hunt me down", Violence},
	{"threats", "he says next time it will be worse and i have bruises on my arms", Violence},
	{"threats", "my stepdad beats my mum every weekend", Violence},
	{"threats", "i'm hiding in the wardrobe, he's smashing things and screaming", Violence},
	{"threats", "my ex has been following me home from work every day", Violence},
	{"threats", "she's threatening to post my nudes unless i pay her", Violence},
	{"threats", "my mum said she would kill me if she found out i lost my virginity", ""},
	{"threats", "my wife keeps joking she'll smother me if i snore again", ""},
	{"threats", "my partner said they'd beat me at mario kart", ""},
	{"threats", "he told me he will teach me a lesson about oral sex", ""},
	{"threats", "my boss said he'll make me pay for the broken glass", ""},
	{"threats", "he said next time it will hurt less if we use more lube", ""},
	{"threats", "my son is 9 and he keeps hitting his little sister", ""},
	{"threats", "my boyfriend keeps showing up at my work with coffee", ""},
	{"threats", "i locked myself in the bathroom to masturbate", ""},

	// Medical emergencies in other words: an erection counted in clock hours,
	// penile fracture, genitals turning black, a stuck ring, something stuck
	// inside for a day with pain. A curve, a risk question, a condom left
	// inside and short-lived erections do not fire.
	{"medical-other-words", "took cialis 8 hours ago and still rock hard and it's getting painful", MedicalEmergency},
	{"medical-other-words", "my erection won't go down and i've had it since 9pm", MedicalEmergency},
	{"medical-other-words", "the erection from my caverject shot has been going for 4 hours", MedicalEmergency},
	{"medical-other-words", "i heard a snap during sex and now my dick is swollen and purple", MedicalEmergency},
	{"medical-other-words", "i put a metal ring on my balls and now they are swollen and i can't get it off", MedicalEmergency},
	{"medical-other-words", "a butt plug is stuck inside me and i can't get it out, it's been a day", MedicalEmergency},
	{"medical-other-words", "the tip of my foreskin is turning black", MedicalEmergency},
	{"medical-other-words", "a toy went up my bum and won't come out, i'm in terrible pain", MedicalEmergency},
	{"medical-other-words", "we had sex at midnight and i was still hard at 2am lol", ""},
	{"medical-other-words", "my penis is bent when erect, is that normal", ""},
	{"medical-other-words", "can you break your penis during sex?", ""},
	{"medical-other-words", "heard a pop in my knee during sex", ""},
	{"medical-other-words", "a condom got stuck inside me last night", ""},
	{"medical-other-words", "my testicles are a bit swollen after a long session", ""},
	{"medical-other-words", "still hard after cumming, is that normal", ""},
	{"medical-other-words", "lost a toy up my bum last night but it came out this morning", ""},

	// The asker's own past trauma told as background, and domestic violence
	// as a job or a subject, are not a crisis; the same past with harm now,
	// or someone asking for a DV service because of violence, is.
	{"own-past", "I was molested by a neighbour when I was about 9, I'm 40 now and hate being touched in bed", ""},
	{"own-past", "as a teen I was assaulted at a party, now I'm 27 and sex still scares me", ""},
	{"own-past", "my wife was sexually abused decades ago and struggles with intimacy", ""},
	{"own-past", "my brother is a domestic violence caseworker and says couples therapy can help us", ""},
	{"own-past", "i was raped in my early twenties and still freeze during sex", ""},
	{"own-past", "my friend was trafficked years ago and is safe now, can therapy help her enjoy sex", ""},
	{"own-past", "i study domestic abuse law and bdsm turns me on, is that weird", ""},
	{"own-past", "i was groped on a bus when i was around 12 and now crowds make me anxious on dates", ""},
	{"own-past", "I was molested when I was about 9 and he did it again last night", Assault},
	{"own-past", "i am at a party and some guy groped me", Assault},
	{"own-past", "as a teen i was abused and now my husband forces me every night", Assault},
	{"own-past", "i need a domestic violence counsellor, my husband hits me", Violence},
	{"own-past", "i called a domestic abuse helpline today, he strangled me", Violence},
	{"own-past", "i was assaulted two nights ago and can't stop crying", Assault},
	{"own-past", "my friend is being trafficked and her pimp takes her money", Assault},
	{"own-past", "i was raped decades ago and my rapist just moved in next door and keeps threatening me", Violence},
	// Self-harm said through a means at hand, a place, a method question or a third person's cuts.
	{"selfharm-means", "the rope is already tied to the beam in the shed and i can't do this anymore", SelfHarm},
	{"selfharm-means", "it's 2am, i've got a bottle of whiskey and every one of my antidepressants next to me", SelfHarm},
	{"selfharm-means", "my grandad keeps calling himself a burden and he was asking where the shotgun is kept", SelfHarm},
	{"selfharm-means", "which is the least painful way to go, asking for myself", SelfHarm},
	{"selfharm-means", "i'm going to end everything tomorrow, this is my last message", SelfHarm},
	{"selfharm-means", "i punch my thighs until they bruise every time i mess up", SelfHarm},
	{"selfharm-means", "i'm standing on top of the multi storey right now and no one is picking up", SelfHarm},
	{"selfharm-means", "my sister sent a picture of her wrists all slashed and now her phone is off", SelfHarm},
	{"selfharm-means", "we keep a rope in the garage for towing the boat", ""},
	{"selfharm-means", "i have my birth control pills in front of me, which one do i start with", ""},
	{"selfharm-means", "my dad asked where the rifle is because hunting season starts tomorrow", ""},
	{"selfharm-means", "what's the least painful way to go about getting a brazilian wax", ""},
	{"selfharm-means", "i'm going to end things with him tonight, the relationship is over", ""},
	{"selfharm-means", "i scratch my arms until they bleed because my eczema is so itchy", ""},
	{"selfharm-means", "we were standing on the bridge right now watching the fireworks, so romantic", ""},
	{"selfharm-means", "the rash on my arms is usually gone by the morning", ""},
	// Unwanted sexual touching, restraint after a no, a stop ignored, being passed around.
	{"unwanted-touch", "a man on the bus grabbed my crotch this morning and i froze", Assault},
	{"unwanted-touch", "my supervisor slid his hand under my shirt in the stockroom, i never said yes", Assault},
	{"unwanted-touch", "the taxi driver touched me and would not let me out of the car", Assault},
	{"unwanted-touch", "my boyfriend handcuffed me when i said no and would not let me go until he was finished", Assault},
	{"unwanted-touch", "the guy from the club ignored me when i asked him to stop", Assault},
	{"unwanted-touch", "my wife says sex is my marital duty and keeps forcing me", Assault},
	{"unwanted-touch", "he passes me around to his friends for money", Assault},
	{"unwanted-touch", "a stranger at the festival groped my breasts and i couldn't move", Assault},
	{"unwanted-touch", "my girlfriend grabbed my butt in the kitchen and i loved it", ""},
	{"unwanted-touch", "my doctor touched my breast during the exam, is that a normal check", ""},
	{"unwanted-touch", "my boyfriend touched me on the shoulder at the party and i got butterflies", ""},
	{"unwanted-touch", "i have a lump in my breast and it hurts when i touch it", ""},
	{"unwanted-touch", "my partner ignored me when i told him to stop texting at dinner", ""},
	{"unwanted-touch", "we share a flat with his friends, how do we get privacy for sex", ""},
	{"unwanted-touch", "she tied me up last night with a safeword agreed and it was amazing", ""},
	{"unwanted-touch", "when i was 12 my coach grabbed my butt and now i hate being touched", ""},
	// A child at risk told in other words: a lap, rude videos, an adult partner, offers, being taken off alone.
	{"child-other-words", "my 8 year old says the man next door makes her sit on his lap and watch rude videos", MinorAtRisk},
	{"child-other-words", "my daughter is 13 and going out with a 22 year old she met at the gym", MinorAtRisk},
	{"child-other-words", "i'm 14 and a 35 year old on discord keeps offering me gift cards for pics", MinorAtRisk},
	{"child-other-words", "i'm 15 and my boss says he'll give me a raise if i come back to his flat", MinorAtRisk},
	{"child-other-words", "my 11 year old's tutor keeps taking her into the back room alone", MinorAtRisk},
	{"child-other-words", "my friend from class is 12 and her uncle climbs into her bed at night", MinorAtRisk},
	{"child-other-words", "my wife has been chatting with a 13 year old boy and asked him for nudes", MinorAtRisk},
	{"child-other-words", "im 13 and my mums boyfriend keeps telling me im sexy", MinorAtRisk},
	{"child-other-words", "my daughter is 14 and sits on her grandad's lap to read stories, so sweet", ""},
	{"child-other-words", "my son is 15 and dating a 15 year old girl from his class", ""},
	{"child-other-words", "i'm 16 and my mum keeps offering to drive me to school", ""},
	{"child-other-words", "i'm 15, is it normal to watch porn", ""},
	{"child-other-words", "my 12 year old came home and asked what sex is", ""},
	{"child-other-words", "my brother is 25 and dating a 24 year old", ""},
	{"child-other-words", "my son is 10 and his coach takes the whole team to the park", ""},
	{"child-other-words", "im 16 and my girlfriend is 16, we want to have sex", ""},
	// Violence told in other words: thrown, locked in, held by the throat, a conditional threat, an address sent, violence overheard.
	{"violence-other-words", "he just shoved me down the stairs and now he is loading his shotgun", Violence},
	{"violence-other-words", "my wife locks me in the garage when she's drunk", Violence},
	{"violence-other-words", "my boyfriend grabbed me by the throat last night", Violence},
	{"violence-other-words", "she said if i leave she will set me on fire", Violence},
	{"violence-other-words", "my ex texted that he knows where i live now", Violence},
	{"violence-other-words", "someone keeps posting my home address online", Violence},
	{"violence-other-words", "i can hear the man next door hitting his girlfriend", Violence},
	{"violence-other-words", "my mums boyfriend slapped her tonight and she's bleeding", Violence},
	{"violence-other-words", "he threw me onto the bed and we had amazing sex", ""},
	{"violence-other-words", "my mum will end me if she sees my grades", ""},
	{"violence-other-words", "i keep locking myself out of my flat by accident", ""},
	{"violence-other-words", "the app asked for my home address for delivery", ""},
	{"violence-other-words", "in the movie the girl was screaming for help and it scared me", ""},
	{"violence-other-words", "i can hear the neighbours having loud sex every night", ""},
	{"violence-other-words", "my brother beat me at fifa again", ""},
	{"violence-other-words", "he said he would finish me off with his tongue and he did", ""},
	// Medical emergencies told in other words: an erection since last night, a high testicle, bleeding in pregnancy, blue lips, a crushing chest, a stuck foreskin, a kick to the groin.
	{"medical-other-words", "i've had an erection since i took the pills last night and it's been 9 hours", MedicalEmergency},
	{"medical-other-words", "one of my balls is pulled up higher than the other and it hurts like hell", MedicalEmergency},
	{"medical-other-words", "i'm 8 weeks pregnant and bleeding heavily with cramps", MedicalEmergency},
	{"medical-other-words", "he's hardly breathing after taking g", MedicalEmergency},
	{"medical-other-words", "her lips are going blue after she passed out", MedicalEmergency},
	{"medical-other-words", "my chest feels like it's in a vice and i'm sweating and grey", MedicalEmergency},
	{"medical-other-words", "my foreskin is stuck back and it's been swollen for 4 hours", MedicalEmergency},
	{"medical-other-words", "i got kneed in the groin and now there's blood and swelling", MedicalEmergency},
	{"medical-other-words", "in the porn video the guy stays erect for like 3 hours, is that real", ""},
	{"medical-other-words", "could i be pregnant, i had some spotting and cramps", ""},
	{"medical-other-words", "my lips go blue when i'm cold after swimming", ""},
	{"medical-other-words", "my heart was racing on our first date", ""},
	{"medical-other-words", "i fainted once giving blood, will i faint at the sti test", ""},
	{"medical-other-words", "mild ache in my balls after edging, gone the next day", ""},
	{"medical-other-words", "i have a crush on my coworker and my chest gets tight", ""},
	{"medical-other-words", "my foreskin is a bit tight, is that phimosis", ""},
	// Look-alikes found while widening: wanted touch with nerves, a racing heart on a date, rough play enjoyed.
	{"unwanted-touch", "my girlfriend touched my penis and i was scared i would cum too fast", ""},
	{"unwanted-touch", "when my boyfriend touches my breasts i get nervous and start crying, is that normal", ""},
	{"unwanted-touch", "my wife grabbed my butt in front of my boss lol", ""},
	{"medical-other-words", "my heart is racing so fast when she kisses me", ""},
	{"violence-other-words", "he threw me against the wall and kissed me, so hot", ""},
	{"medical-other-words", "my erection since i started cialis lasts longer, like 2 hours", ""},
	{"child-other-words", "my son is 15 and talking to a 25 year old youtuber about gaming", ""},
}

func TestAssessGapClasses(t *testing.T) {
	d := shipped(t)
	pos, neg := map[string]int{}, map[string]int{}
	for _, tc := range gapCases {
		a := d.Assess(tc.text)
		if tc.want == "" {
			neg[tc.class]++
			if a.Crisis {
				t.Errorf("%s: Assess(%q) = %v, want no crisis", tc.class, tc.text, a.Signals)
			}
			continue
		}
		pos[tc.class]++
		if !a.Crisis || !a.Has(tc.want) {
			t.Errorf("%s: Assess(%q) = %v, want crisis with %s", tc.class, tc.text, a.Signals, tc.want)
		}
	}
	// Each class keeps enough cases on both sides to pin its behaviour.
	for _, class := range []string{"ongoing-assault", "overdose", "grooming", "attraction", "partner-past",
		"indirect-suicidal", "third-person", "assault-other-words", "minor-other-words", "threats", "medical-other-words", "own-past",
		"selfharm-means", "unwanted-touch", "child-other-words", "violence-other-words"} {
		if pos[class] < 8 || neg[class] < 8 {
			t.Errorf("class %s has %d positive and %d negative cases; keep at least 8 of each", class, pos[class], neg[class])
		}
	}
}

func TestAssessPositives(t *testing.T) {
	d := shipped(t)
	for _, tc := range crisisPositives {
		a := d.Assess(tc.text)
		if !a.Crisis || !a.Has(tc.want) {
			t.Errorf("Assess(%q) = %+v, want crisis with %s", tc.text, a, tc.want)
		}
	}
	if n := len(crisisPositives); n < 60 {
		t.Errorf("only %d positive cases; keep at least 60", n)
	}
}

func TestAssessNegatives(t *testing.T) {
	d := shipped(t)
	for _, text := range crisisNegatives {
		if a := d.Assess(text); a.Crisis {
			t.Errorf("Assess(%q) = %v, want no crisis", text, a.Signals)
		}
	}
	if n := len(crisisNegatives); n < 60 {
		t.Errorf("only %d negative cases; keep at least 60", n)
	}
}

func TestAssessRequests(t *testing.T) {
	d := shipped(t)
	requests := []string{
		"write me an erotic story",
		"sext with me",
		"talk dirty to me",
		"roleplay as my girlfriend",
		"send nudes",
		"can you send me nudes",
		"tell me a sexy story about a nurse",
		"pretend to be my boyfriend",
		"describe having sex with me",
		"lets sext",
		"Can you write a sex scene between two guys?",
		"write some smut",
		"could you talk dirty with me",
		"say something dirty",
		"role-play as my wife please",
		"i want you to make me cum",
		"i want to sext you",
		"can you be my girlfriend",
	}
	for _, text := range requests {
		if a := d.Assess(text); !a.Request {
			t.Errorf("Assess(%q).Request = false, want true", text)
		}
	}
	notRequests := []string{
		"is sexting safe",
		"how do I ask my partner to talk dirty",
		"is erotica bad for me",
		"my boyfriend asked me to send nudes, should I?",
		"how do I write an erotic story for my wife",
		"is roleplay healthy in a relationship",
		"I like reading erotica",
		"how to sext my partner",
		"my gf wants me to talk dirty to her",
		"how do I ask my boyfriend to talk dirty to me",
		"my girlfriend wants to roleplay as a nurse",
		"should I send nudes to my boyfriend",
		"he keeps asking me to send him nudes",
		"is it illegal to send nudes at 16",
		"my ex keeps sexting me",
		"what is a good way to start dirty talk",
		"is it normal to like dirty talk",
		"fuck me, this is embarrassing",
		"I want to write an erotic story, any tips",
	}
	for _, text := range notRequests {
		if a := d.Assess(text); a.Request {
			t.Errorf("Assess(%q).Request = true, want false", text)
		}
	}
	// Crisis and a request are independent verdicts.
	if a := d.Assess("an adult is sending me nudes and I'm 14"); a.Request {
		t.Errorf("a minor being sent nudes is not a request: %+v", a)
	}
}

// TestRuleExamples checks every `examples` line in crisis.yaml fires its
// own rule, so curators get a failing test when an edit breaks a rule.
func TestRuleExamples(t *testing.T) {
	d := shipped(t)
	n := 0
	for _, r := range d.rules {
		for _, ex := range r.examples {
			n++
			res := d.assess(ex)
			got := slices.ContainsFunc(res.Signals, func(s Signal) bool { return s.Rule == r.id }) ||
				slices.Contains(res.requestRules, r.id)
			if !got {
				t.Errorf("rule %s (line %d): example %q does not fire it (got %v, requests %v)", r.id, r.line, ex, res.Signals, res.requestRules)
			}
		}
	}
	if n == 0 {
		t.Fatal("no rule examples found")
	}
}

func TestAssessSignalsAreIDs(t *testing.T) {
	d := shipped(t)
	text := "someone raped me last night and I want to kill myself"
	a := d.Assess(text)
	if !a.Has(Assault) || !a.Has(SelfHarm) {
		t.Fatalf("want assault and self_harm, got %v", a.Signals)
	}
	// Signals come out in category order and never carry message text.
	cats := a.Categories()
	if cats[0] != SelfHarm || cats[1] != Assault {
		t.Errorf("categories out of order: %v", cats)
	}
	for _, s := range a.Signals {
		if strings.Contains(text, s.Rule) || !isIdent(s.Rule) {
			t.Errorf("signal rule %q is not a rule id", s.Rule)
		}
	}
}

func TestAssessEmptyAndNoise(t *testing.T) {
	d := shipped(t)
	for _, text := range []string{"", " ", "\x00\xff\xfe", "....!!!???", "🍆💦", strings.Repeat("a", 10000)} {
		if a := d.Assess(text); a.Crisis || a.Request {
			t.Errorf("Assess(%q) = %+v", text, a)
		}
	}
}

func TestAssessConcurrent(t *testing.T) {
	d := shipped(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range crisisPositives[:20] {
				if a := d.Assess(tc.text); !a.Has(tc.want) {
					t.Errorf("concurrent Assess(%q) lost %s", tc.text, tc.want)
				}
			}
		}()
	}
	wg.Wait()
}

func loadShippedFresh() (*Detector, error) {
	return LoadDetector(os.DirFS("../../faq"), "safety/crisis.yaml")
}

// TestPrefilterChangesNothing: skipping patterns whose required literals
// are absent is an optimisation only. On every line of the safety corpus
// and of the evaluation sets, the rules fire exactly as they do with every
// pattern tried; and the prefilter does skip work on some of them, so the
// comparison is not between two identical runs.
func TestPrefilterChangesNothing(t *testing.T) {
	d := shipped(t)
	// A detector of its own: the shipped one is shared by every test.
	full, err := LoadDetector(os.DirFS("../../faq"), "safety/crisis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range full.pats {
		p.need = nil
	}
	var texts []string
	for _, glob := range []string{"../../corpus/safety/*.jsonl", "../../eval/*.jsonl"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				var v struct {
					Q string `json:"q"`
				}
				if json.Unmarshal([]byte(line), &v) == nil && v.Q != "" {
					texts = append(texts, v.Q)
				}
			}
		}
	}
	if len(texts) < 1000 {
		t.Fatalf("only %d texts found", len(texts))
	}
	fewer := 0
	for _, q := range texts {
		a, b := d.assess(q), full.assess(q)
		if !slices.Equal(a.Signals, b.Signals) || !slices.Equal(a.requestRules, b.requestRules) || a.Crisis != b.Crisis || a.Tier != b.Tier {
			t.Fatalf("%q: with the prefilter %v %v, without %v %v", q, a.Signals, a.requestRules, b.Signals, b.requestRules)
		}
		if a.steps < b.steps {
			fewer++
		}
	}
	if fewer == 0 {
		t.Fatal("the prefilter never skipped a pattern")
	}
	t.Logf("%d texts; the prefilter saved work on %d", len(texts), fewer)
}
