/**
 * Fresh IDs a person can read aloud: `calm-otter-4821`. Two short common words and four
 * digits (128 × 128 × 10,000 ≈ 2^27 names); the server still checks each against the peers
 * it holds and the IDs reserved for their owners, so a clash is simply drawn again.
 * At most 6 + 1 + 6 + 1 + 4 = 18 characters, lowercase letters, digits and dashes: a valid
 * PeerJS ID.
 */
import { randomInt } from 'node:crypto';

const adjectives = `able airy amber bold brave brief bright brisk busy calm clean clear clever cool cosy crisp
curly dapper deep eager early easy fair fancy fast fine firm fluffy free fresh frosty glad
gentle giant golden good grand green happy hardy hazy honest jolly keen kind large lively
loyal lucky lunar mellow merry mighty mild misty modest neat nimble noble north odd olive
open plain polite proud pure quick quiet rapid ready rosy round royal rustic safe sandy
sharp shiny silent silver simple sleek smart smooth snowy soft solar solid spry steady
still stout sunny super sweet swift tall tame tidy tiny topaz true urban vast velvet vivid
warm wavy wide wild windy wise witty young zesty`.split(/\s+/).filter((w) => /^[a-z]{3,6}$/.test(w));

const nouns = `acorn alder apple arrow aspen badger basil beach bear birch bison blue boat brook
cabin camel canoe cedar cello cherry cliff cloud clover comet coral crane creek dahlia
daisy delta dingo dolphin dove eagle ember falcon fern field finch fjord flame forest fox
garden gecko ginger glade goose grape grove harbor hare hawk hazel heron hill honey iris
island ivy jade kayak kite koala lake lark lemon lilac lily lion llama lotus lynx maple
marsh meadow melon mint moon moose moss newt oak ocean olive orca otter owl panda peach
pear pebble pine plum pond poppy puffin quail rabbit raven reef river robin rose sage
salmon seal shell sky sparrow spruce star stone swan thyme tiger trout tulip violet
walnut whale willow wolf wren yak zebra`.split(/\s+/).filter((w) => /^[a-z]{3,6}$/.test(w));

/** @param {string[]} list */
const pick = (list) => list[randomInt(list.length)];

/** A fresh readable ID, e.g. `calm-otter-4821`. */
export function readableId() {
	return `${pick(adjectives)}-${pick(nouns)}-${String(randomInt(10_000)).padStart(4, '0')}`;
}

export const wordCounts = { adjectives: adjectives.length, nouns: nouns.length };
