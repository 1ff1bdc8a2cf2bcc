/* stopwords_zh.c - built-in Chinese stop-word list (simplified and the
 * common traditional forms): pronouns, particles, prepositions,
 * conjunctions, auxiliaries and measure/degree words, the core shared by
 * the usual public lists (HIT, Baidu, cn_stopwords). Written for tl.
 * Words that carry sentiment are deliberately NOT included, because
 * tl-clean --stopwords zh feeds sentiment classifiers: negations (不, 没,
 * 没有, 别, 未, 非, 无), degree adverbs (很, 非常, 太, 最, 更, 比较, 十分,
 * 特别, 挺, 有点, 一点, 简直, 尤其, 甚至, 竟然, 确实), comparison and
 * evaluative words (一般, 不如, 一样, 还, 都, 可以, 能够, 好, 差): removing
 * them turns "酒店一般，不如上次那家" into "酒店 上次 家".
 * Because tl-clean matches this list inside unsegmented text (greedy
 * longest match), single characters that often begin or end ordinary words
 * (上, 中, 时, 个, 在, 以, 有, 是, ...) are left out too:
 * matching them inside 现在 or 中国 would destroy the word. */
#include "tl/text.h"

const char *const tl_stopwords_zh[] = {
	/* particles and auxiliaries */
	"的", "了", "着", "吗", "呢", "吧", "啊", "呀", "哇", "哦", "噢", "嘛",
	"啦", "喽", "罢了", "而已", "似的", "等等", "们",
	/* pronouns */
	"我", "你", "您", "他", "她", "它", "我们", "你们", "您们", "他们", "她们", "它们", "咱", "咱们",
	"自己", "人家", "大家", "别人", "这", "那", "这个", "那个", "这些", "那些", "这里", "那里",
	"这儿", "那儿", "这样", "那样", "这么", "那么", "这种", "那种", "其他", "其它",
	"其中", "谁", "什么", "哪", "哪里", "哪儿", "哪个", "哪些", "怎么",
	"怎样", "怎么样", "如何", "为什么", "多少", 
	/* prepositions */
	"自从", "对于", "关于", "至于", "由于", 
	"为了", "以及", "按照", "依照", "根据",
	"通过", "经过", "除了", "与", "和", "沿着",
	/* conjunctions */
	"而且", "并且", "或者", "还是", "但", "但是", "可是", "然而", "不过", "只是",
	"因为", "所以", "因此", "于是", "因而", "如果", "假如", "要是", "倘若", "即使", "虽然", 
	"尽管", "既然", "那么", "否则", "然后", "接着", "而是", "以便", "以免", "只要", "只有",
	"无论", "不管", "还有", "另外", "此外", "同时", "及其", "与其",
	/* adverbs of time and scope (not of degree: see above) */
	"也", "就", 
	"已经", "曾经", "正在", "将要", "刚才", "总是", "一直",
	"常常", "经常", "往往", "仅仅", "几乎", "一起", "一共", "全部", "所有",
	"一切", "一些", "有些", "有的", "一下", "一个", "一种", "一次", "一边", "大约",
	"可能", "也许", "大概", "当然", "其实", "究竟", "到底", 
	/* modality, time and relation words */
	"应该", "应当", "得以", 
	"时候", "以后", "以前",
	"之后", "之前", "之间", "之中", "之一", "方面", "的话", 
	/* numerals and measure words */
	
	/* common traditional forms */
	"這", "這個", "這些", "這裡", "這樣", "這麼", "那麼", "們", "為了", "對於",
	"關於", "與", "什麼", "怎麼", "應該", 
	"雖然", "因為", "所以", "但是", "而且", "並且", "還是", "嗎", "吧", "呢",
	NULL};
