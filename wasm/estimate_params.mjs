// Parameter-count mode of `estimate`: sizes and memory for a model known only by its parameter
// count (`{params: '8.03B'}`), without its header and without WebAssembly.
//
// The model (see docs/ESTIMATES.md): RECIPE below is generated from the C++ quantization plan
// (core/estimate/params_recipe.cpp, checked by tests/estimate_params_native_test.cpp). It holds,
// for llama-style anchor shapes from 0.5B to 405B parameters, every ftype's exact tensor bytes as
// make_quant_plan computes them (so each tensor class's share at that size and the recipe's
// per-class types are in it), the f16 KV cache per token and the compute allowance. For a given
// parameter count, bytes per parameter, KV per token and compute are interpolated linearly in
// log(parameters) between the two nearest anchors (clamped outside 0.5B-405B). The file adds an
// allowance for the tokenizer metadata. Dense transformers only: an MoE's size follows its total
// parameters, but its KV cache is overestimated when its attention is smaller than a dense
// model's of the same total size.
//
// Pure JS, no imports: the <gguf-estimator> widget inlines this file.

const RECIPE = /* RECIPE BEGIN */{"ftypes":[["Q1_0",40,"1.125 bpw quantization"],["Q2_0",41,"2.25 bpw quantization (group 64)"],["Q4_0",2,"4.34G, +0.4685 ppl @ Llama-3-8B"],["Q4_1",3,"4.78G, +0.4511 ppl @ Llama-3-8B"],["MXFP4_MOE",38,"MXFP4 MoE"],["Q5_0",8,"5.21G, +0.1316 ppl @ Llama-3-8B"],["Q5_1",9,"5.65G, +0.1062 ppl @ Llama-3-8B"],["IQ2_XXS",19,"2.06 bpw quantization"],["IQ2_XS",20,"2.31 bpw quantization"],["IQ2_S",28,"2.5  bpw quantization"],["IQ2_M",29,"2.7  bpw quantization"],["IQ1_S",24,"1.56 bpw quantization"],["IQ1_M",31,"1.75 bpw quantization"],["TQ1_0",36,"1.69 bpw ternarization"],["TQ2_0",37,"2.06 bpw ternarization"],["Q2_K",10,"2.96G, +3.5199 ppl @ Llama-3-8B"],["Q2_K_S",21,"2.96G, +3.1836 ppl @ Llama-3-8B"],["IQ3_XXS",23,"3.06 bpw quantization"],["IQ3_S",26,"3.44 bpw quantization"],["IQ3_M",27,"3.66 bpw quantization mix"],["IQ3_XS",22,"3.3 bpw quantization"],["Q3_K_S",11,"3.41G, +1.6321 ppl @ Llama-3-8B"],["Q3_K_M",12,"3.74G, +0.6569 ppl @ Llama-3-8B"],["Q3_K_L",13,"4.03G, +0.5562 ppl @ Llama-3-8B"],["IQ4_NL",25,"4.50 bpw non-linear quantization"],["IQ4_XS",30,"4.25 bpw non-linear quantization"],["Q4_K_S",14,"4.37G, +0.2689 ppl @ Llama-3-8B"],["Q4_K_M",15,"4.58G, +0.1754 ppl @ Llama-3-8B"],["Q5_K_S",16,"5.21G, +0.1049 ppl @ Llama-3-8B"],["Q5_K_M",17,"5.33G, +0.0569 ppl @ Llama-3-8B"],["Q6_K",18,"6.14G, +0.0217 ppl @ Llama-3-8B"],["Q8_0",7,"7.96G, +0.0026 ppl @ Llama-3-8B"],["F16",1,"14.00G, +0.0020 ppl @ Mistral-7B"],["BF16",32,"14.00G, -0.0050 ppl @ Mistral-7B"],["F32",0,"26.00G              @ 7B"],["COPY",0,"only copy tensors, no quantizing"]],"anchors":[{"name":"Qwen2.5-0.5B","params":494005120,"n_vocab":151936,"kv_bytes_per_token":12288,"compute_bytes":325404160,"ftypes":{"Q1_0":[195138048,0],"Q2_0":[245457408,0],"Q4_0":[346096128,0],"Q4_1":[368460288,0],"MXFP4_MOE":[525009408,0],"Q5_0":[390824448,0],"Q5_1":[413188608,0],"IQ2_XXS":[315490560,1],"IQ2_XS":[318350592,1],"IQ2_S":[319678464,1],"IQ2_M":[322538496,1],"IQ1_S":[309770496,1],"IQ1_M":[311915520,1],"TQ1_0":[309324288,0],"TQ2_0":[314227200,0],"Q2_K":[332548608,0],"Q2_K_S":[324989952,1],"IQ3_XXS":[334285056,0],"IQ3_S":[332548608,0],"IQ3_M":[336693504,0],"IQ3_XS":[332548608,0],"Q3_K_S":[332204544,0],"Q3_K_M":[349407744,0],"Q3_K_L":[363299328,0],"IQ4_NL":[348246528,0],"IQ4_XS":[345386496,0],"Q4_K_S":[379412992,0],"Q4_K_M":[391749120,0],"Q5_K_S":[406651392,0],"Q5_K_M":[414027264,0],"Q6_K":[499677696,0],"Q8_0":[525009408,0],"F16":[988098048,0],"BF16":[988098048,0],"F32":[1976020480,0],"COPY":[988098048,0]}},{"name":"Llama-3.2-1B","params":1235814400,"n_vocab":128256,"kv_bytes_per_token":32768,"compute_bytes":288347136,"ftypes":{"Q1_0":[352579584,0],"Q2_0":[489418752,0],"Q4_0":[763097088,0],"Q4_1":[823914496,0],"MXFP4_MOE":[1313251328,0],"Q5_0":[884731904,0],"Q5_1":[945549312,0],"IQ2_XXS":[439197696,1],"IQ2_XS":[468033536,1],"IQ2_S":[480878592,1],"IQ2_M":[507617280,1],"IQ1_S":[385720320,1],"IQ1_M":[405774336,1],"TQ1_0":[420999168,0],"TQ2_0":[466612224,0],"Q2_K":[573042688,0],"Q2_K_S":[546828288,1],"IQ3_XXS":[571318272,1],"IQ3_S":[636088320,0],"IQ3_M":[649457664,0],"IQ3_XS":[613281792,1],"Q3_K_S":[633860096,0],"Q3_K_M":[683012096,0],"Q3_K_L":[724692992,0],"IQ4_NL":[769388544,0],"IQ4_XS":[740552704,0],"Q4_K_S":[767815680,0],"Q4_K_M":[799862784,0],"Q5_K_S":[884731904,0],"Q5_K_M":[903671808,0],"Q6_K":[1013968896,0],"Q8_0":[1313251328,0],"F16":[2471763968,0],"BF16":[2471763968,0],"F32":[4943257600,0],"COPY":[2471763968,0]}},{"name":"Llama-3.2-3B","params":3212749824,"n_vocab":128256,"kv_bytes_per_token":114688,"compute_bytes":292541440,"ftypes":{"Q1_0":[720267264,0],"Q2_0":[1116628992,0],"Q4_0":[1909352448,0],"Q4_1":[2085513216,0],"MXFP4_MOE":[3414061056,0],"Q5_0":[2261673984,0],"Q5_1":[2437834752,0],"IQ2_XXS":[1009741824,1],"IQ2_XS":[1092710400,1],"IQ2_S":[1146482688,1],"IQ2_M":[1221193728,1],"IQ1_S":[860319744,1],"IQ1_M":[916353024,1],"TQ1_0":[918448128,0],"TQ2_0":[1050568704,0],"Q2_K":[1356097536,0],"Q2_K_S":[1266444288,1],"IQ3_XXS":[1388113920,1],"IQ3_S":[1535010816,0],"IQ3_M":[1591830528,0],"IQ3_XS":[1468950528,1],"Q3_K_S":[1535010816,0],"Q3_K_M":[1679321088,0],"Q3_K_L":[1807509504,0],"IQ4_NL":[1918789632,0],"IQ4_XS":[1833068544,0],"Q4_K_S":[1920362496,0],"Q4_K_M":[2011539456,0],"Q5_K_S":[2261673984,0],"Q5_K_M":[2314315776,0],"Q6_K":[2636015616,0],"Q8_0":[3414061056,0],"F16":[6425849856,0],"BF16":[6425849856,0],"F32":[12850999296,0],"COPY":[6425849856,0]}},{"name":"Llama-3.1-8B","params":8030261248,"n_vocab":128256,"kv_bytes_per_token":131072,"compute_bytes":309318656,"ftypes":{"Q1_0":[1487347712,0],"Q2_0":[2690441216,0],"Q4_0":[4653375488,0],"Q4_1":[5122416640,0],"MXFP4_MOE":[8532934656,0],"Q5_0":[5591457792,0],"Q5_1":[6060498944,0],"IQ2_XXS":[2391375872,1],"IQ2_XS":[2597945344,1],"IQ2_S":[2750652416,1],"IQ2_M":[2940444672,1],"IQ1_S":[2011791360,1],"IQ1_M":[2154135552,1],"TQ1_0":[2199707648,0],"TQ2_0":[2526863360,0],"Q2_K":[3171295232,0],"Q2_K_S":[2980978688,1],"IQ3_XXS":[3386351616,1],"IQ3_S":[3674488832,0],"IQ3_M":[3776987136,0],"IQ3_XS":[3510910976,1],"Q3_K_S":[3656663040,0],"Q3_K_M":[4011081728,0],"Q3_K_L":[4314120192,0],"IQ4_NL":[4699512832,0],"IQ4_XS":[4476526592,0],"Q4_K_S":[4684832768,0],"Q4_K_M":[4912898048,0],"Q5_K_S":[5591457792,0],"Q5_K_M":[5725151232,0],"Q6_K":[6588170240,0],"Q8_0":[8532934656,0],"F16":[16061054976,0],"BF16":[16061054976,0],"F32":[32121044992,0],"COPY":[16061054976,0]}},{"name":"Qwen2.5-14B","params":14769689600,"n_vocab":152064,"kv_bytes_per_token":196608,"compute_bytes":361318400,"ftypes":{"Q1_0":[2608087040,0],"Q2_0":[4794490880,0],"Q4_0":[8510382080,0],"Q4_1":[9384796160,0],"MXFP4_MOE":[15694254080,0],"Q5_0":[10259210240,0],"Q5_1":[11133624320,0],"IQ2_XXS":[4305489920,1],"IQ2_XS":[4697231360,1],"IQ2_S":[4996382720,1],"IQ2_M":[5348802560,1],"IQ1_S":[3600650240,1],"IQ1_M":[3864965120,1],"TQ1_0":[3865518080,0],"TQ2_0":[4484833280,0],"Q2_K":[5763153920,0],"Q2_K_S":[5389844480,1],"IQ3_XXS":[6155018240,1],"IQ3_S":[6685675520,0],"IQ3_M":[6909194240,0],"IQ3_XS":[6376017920,1],"Q3_K_S":[6652252160,0],"Q3_K_M":[7331860480,0],"Q3_K_L":[7917424640,0],"IQ4_NL":[8594923520,0],"IQ4_XS":[8178851840,0],"Q4_K_S":[8566087680,0],"Q4_K_M":[8980766720,0],"Q5_K_S":[10259210240,0],"Q5_K_M":[10501529600,0],"Q6_K":[12117340160,0],"Q8_0":[15694254080,0],"F16":[29540372480,0],"BF16":[29540372480,0],"F32":[59078758400,0],"COPY":[29540372480,0]}},{"name":"Qwen2.5-32B","params":32763417600,"n_vocab":152064,"kv_bytes_per_token":262144,"compute_bytes":389629952,"ftypes":{"Q1_0":[5139087360,0],"Q2_0":[9855836160,0],"Q4_0":[18632417280,0],"Q4_1":[20631429120,0],"MXFP4_MOE":[34813071360,0],"Q5_0":[22630440960,0],"Q5_1":[24629452800,0],"IQ2_XXS":[9020436480,1],"IQ2_XS":[9949736960,1],"IQ2_S":[10379755520,1],"IQ2_M":[11256627200,1],"IQ1_S":[7266693120,1],"IQ1_M":[7924346880,1],"TQ1_0":[7661690880,0],"TQ2_0":[9124454400,0],"Q2_K":[12305285120,0],"Q2_K_S":[11480186880,1],"IQ3_XXS":[13406535680,1],"IQ3_S":[14429081600,0],"IQ3_M":[14802309120,0],"IQ3_XS":[13697699840,1],"Q3_K_S":[14384517120,0],"Q3_K_M":[15927234560,0],"Q3_K_L":[17239265280,0],"IQ4_NL":[18815918080,0],"IQ4_XS":[17862287360,0],"Q4_K_S":[18776596480,0],"Q4_K_M":[19843522560,0],"Q5_K_S":[22630440960,0],"Q5_K_M":[23254343680,0],"Q6_K":[26878341120,0],"Q8_0":[34813071360,0],"F16":[65528156160,0],"BF16":[65528156160,0],"F32":[131053670400,0],"COPY":[65528156160,0]}},{"name":"Llama-3.1-70B","params":70553706496,"n_vocab":128256,"kv_bytes_per_token":327680,"compute_bytes":355456000,"ftypes":{"Q1_0":[10640834560,0],"Q2_0":[20710014976,0],"Q4_0":[39961870336,0],"Q4_1":[44305727488,0],"MXFP4_MOE":[74967187456,0],"Q5_0":[48649584640,0],"Q5_1":[52993441792,0],"IQ2_XXS":[19089522688,1],"IQ2_XS":[21134245888,1],"IQ2_S":[22234480640,1],"IQ2_M":[24111431680,1],"IQ1_S":[15335620608,1],"IQ1_M":[16743333888,1],"TQ1_0":[15897051136,0],"TQ2_0":[19105693696,0],"Q2_K":[26367246336,0],"Q2_K_S":[24464080896,1],"IQ3_XXS":[28654387200,1],"IQ3_S":[30904188928,0],"IQ3_M":[31929171968,0],"IQ3_XS":[29299867648,1],"Q3_K_S":[30904188928,0],"Q3_K_M":[34259632128,0],"Q3_K_L":[37132730368,0],"IQ4_NL":[40339357696,0],"IQ4_XS":[38261800960,0],"Q4_K_S":[40339357696,0],"Q4_K_M":[42512531456,0],"Q5_K_S":[48649584640,0],"Q5_K_M":[49941954560,0],"Q6_K":[57880281088,0],"Q8_0":[74967187456,0],"F16":[141110050816,0],"BF16":[141110050816,0],"F32":[282214825984,0],"COPY":[141110050816,0]}},{"name":"Llama-3.1-405B","params":405853388800,"n_vocab":128256,"kv_bytes_per_token":516096,"compute_bytes":439342080,"ftypes":{"Q1_0":[58517389312,0],"Q2_0":[115885441024,0],"Q4_0":[228848533504,0],"Q4_1":[254082777088,0],"MXFP4_MOE":[431231401984,0],"Q5_0":[279317020672,0],"Q5_1":[304551264256,0],"IQ2_XXS":[107264475136,1],"IQ2_XS":[119340924928,1],"IQ2_S":[125639753728,1],"IQ2_M":[136659238912,1],"IQ1_S":[85225504768,1],"IQ1_M":[93490118656,1],"TQ1_0":[87644667904,0],"TQ2_0":[106471849984,0],"Q2_K":[149314895872,0],"Q2_K_S":[137782657024,1],"IQ3_XXS":[162729459712,1],"IQ3_S":[175506522112,0],"IQ3_M":[181736636416,0],"IQ3_XS":[166052036608,1],"Q3_K_S":[175225765888,0],"Q3_K_M":[195365502976,0],"Q3_K_L":[212830584832,0],"IQ4_NL":[230748553216,0],"IQ4_XS":[218606436352,0],"Q4_K_S":[230492700672,0],"Q4_K_M":[243061719040,0],"Q5_K_S":[279317020672,0],"Q5_K_M":[286638964736,0],"Q6_K":[332939788288,0],"Q8_0":[431231401984,0],"F16":[811715067904,0],"BF16":[811715067904,0],"F32":[1623413555200,0],"COPY":[811715067904,0]}}],"holdout":[{"name":"Qwen2.5-1.5B","params":1543656960,"n_vocab":151936,"kv_bytes_per_token":28672,"compute_bytes":336414208,"ftypes":{"Q1_0":[376035840,0],"Q2_0":[560282112,0],"Q4_0":[928774656,0],"Q4_1":[1010661888,0],"MXFP4_MOE":[1640392704,0],"Q5_0":[1092549120,0],"Q5_1":[1174436352,0],"IQ2_XXS":[504837120,1],"IQ2_XS":[544146432,1],"IQ2_S":[557629440,1],"IQ2_M":[594874368,1],"IQ1_S":[430347264,1],"IQ1_M":[458280960,1],"TQ1_0":[468158976,0],"TQ2_0":[529574400,0],"Q2_K":[670124544,0],"Q2_K_S":[633954816,1],"IQ3_XXS":[686158848,1],"IQ3_S":[756226560,0],"IQ3_M":[770483712,0],"IQ3_XS":[725518848,1],"Q3_K_S":[754764288,0],"Q3_K_M":[817998336,0],"Q3_K_L":[873982464,0],"IQ4_NL":[935311872,0],"IQ4_XS":[896002560,0],"Q4_K_S":[934132224,0],"Q4_K_M":[979868160,0],"Q5_K_S":[1092549120,0],"Q5_K_M":[1118870016,0],"Q6_K":[1266559488,0],"Q8_0":[1640392704,0],"F16":[3087489024,0],"BF16":[3087489024,0],"F32":[6174627840,0],"COPY":[3087489024,0]}},{"name":"Mistral-7B-v0.3","params":7248023552,"n_vocab":32768,"kv_bytes_per_token":131072,"compute_bytes":113377280,"ftypes":{"Q1_0":[1111506944,0],"Q2_0":[2149597184,0],"Q4_0":[4112531456,0],"Q4_1":[4557127680,0],"MXFP4_MOE":[7701807104,0],"Q5_0":[5001723904,0],"Q5_1":[5446320128,0],"IQ2_XXS":[1994145792,1],"IQ2_XS":[2200715264,1],"IQ2_S":[2313699328,1],"IQ2_M":[2503491584,1],"IQ1_S":[1614561280,1],"IQ1_M":[1756905472,1],"TQ1_0":[1658863616,0],"TQ2_0":[1986019328,0],"Q2_K":[2722119680,0],"Q2_K_S":[2531803136,1],"IQ3_XXS":[2949398528,1],"IQ3_S":[3185590272,0],"IQ3_M":[3288088576,0],"IQ3_XS":[3022012416,1],"Q3_K_S":[3167764480,0],"Q3_K_M":[3522183168,0],"Q3_K_L":[3825221632,0],"IQ4_NL":[4158668800,0],"IQ4_XS":[3947905024,0],"Q4_K_S":[4143988736,0],"Q4_K_M":[4372054016,0],"Q5_K_S":[5001723904,0],"Q5_K_M":[5135417344,0],"Q6_K":[5946490880,0],"Q8_0":[7701807104,0],"F16":[14496579584,0],"BF16":[14496579584,0],"F32":[28992094208,0],"COPY":[14496579584,0]}},{"name":"Qwen2.5-7B","params":7615487488,"n_vocab":152064,"kv_bytes_per_token":57344,"compute_bytes":365512704,"ftypes":{"Q1_0":[1442144256,0],"Q2_0":[2589683712,0],"Q4_0":[4424921088,0],"Q4_1":[4866813952,0],"MXFP4_MOE":[8092055552,0],"Q5_0":[5308706816,0],"Q5_1":[5750599680,0],"IQ2_XXS":[2266607616,1],"IQ2_XS":[2462552064,1],"IQ2_S":[2589167616,1],"IQ2_M":[2773872640,1],"IQ1_S":[1897197568,1],"IQ1_M":[2035726336,1],"TQ1_0":[2130874368,0],"TQ2_0":[2436747264,0],"Q2_K":[3009470464,0],"Q2_K_S":[2827603968,1],"IQ3_XXS":[3224209408,1],"IQ3_S":[3492722688,0],"IQ3_M":[3567542272,0],"IQ3_XS":[3339786240,1],"Q3_K_S":[3485898752,0],"Q3_K_M":[3801921536,0],"Q3_K_L":[4081989632,0],"IQ4_NL":[4456804352,0],"IQ4_XS":[4243828736,0],"Q4_K_S":[4451299328,0],"Q4_K_M":[4676603904,0],"Q5_K_S":[5308706816,0],"Q5_K_M":[5438361600,0],"Q6_K":[6247729152,0],"Q8_0":[8092055552,0],"F16":[15231383552,0],"BF16":[15231383552,0],"F32":[30461949952,0],"COPY":[15231383552,0]}},{"name":"Mistral-Nemo-12B","params":12772070400,"n_vocab":131072,"kv_bytes_per_token":204800,"compute_bytes":319291392,"ftypes":{"Q1_0":[2253803520,0],"Q2_0":[4144189440,0],"Q4_0":[7358730240,0],"Q4_1":[8115015680,0],"MXFP4_MOE":[13571543040,0],"Q5_0":[8871301120,0],"Q5_1":[9627586560,0],"IQ2_XXS":[3735572480,1],"IQ2_XS":[4073082880,1],"IQ2_S":[4325969920,1],"IQ2_M":[4630712320,1],"IQ1_S":[3126087680,1],"IQ1_M":[3354644480,1],"TQ1_0":[3340554240,0],"TQ2_0":[3876311040,0],"Q2_K":[4988784640,0],"Q2_K_S":[4670115840,1],"IQ3_XXS":[5327441920,1],"IQ3_S":[5786439680,0],"IQ3_M":[5974446080,0],"IQ3_XS":[5518561280,1],"Q3_K_S":[5751623680,0],"Q3_K_M":[6335631360,0],"Q3_K_L":[6846484480,0],"IQ4_NL":[7437373440,0],"IQ4_XS":[7078891520,0],"Q4_K_S":[7407882240,0],"Q4_K_M":[7770992640,0],"Q5_K_S":[8871301120,0],"Q5_K_M":[9083678720,0],"Q6_K":[10478407680,0],"Q8_0":[13571543040,0],"F16":[25544970240,0],"BF16":[25544970240,0],"F32":[51088281600,0],"COPY":[25544970240,0]}},{"name":"Mistral-Small-24B","params":24096691200,"n_vocab":131072,"kv_bytes_per_token":204800,"compute_bytes":357040128,"ftypes":{"Q1_0":[3846328320,0],"Q2_0":[7329239040,0],"Q4_0":[13728829440,0],"Q4_1":[15192903680,0],"MXFP4_MOE":[25603952640,0],"Q5_0":[16656977920,0],"Q5_1":[18121052160,0],"IQ2_XXS":[6688378880,1],"IQ2_XS":[7365038080,1],"IQ2_S":[7665848320,1],"IQ2_M":[8309739520,1],"IQ1_S":[5400596480,1],"IQ1_M":[5883514880,1],"TQ1_0":[5729341440,0],"TQ2_0":[6795939840,0],"Q2_K":[9088061440,0],"Q2_K_S":[8496599040,1],"IQ3_XXS":[9902264320,1],"IQ3_S":[10652487680,0],"IQ3_M":[10903162880,0],"IQ3_XS":[10119188480,1],"Q3_K_S":[10617671680,0],"Q3_K_M":[11726622720,0],"Q3_K_L":[12685742080,0],"IQ4_NL":[13866455040,0],"IQ4_XS":[13168824320,0],"Q4_K_S":[13836963840,0],"Q4_K_M":[14627696640,0],"Q5_K_S":[16656977920,0],"Q5_K_M":[17120030720,0],"Q6_K":[19768135680,0],"Q8_0":[25603952640,0],"F16":[48194211840,0],"BF16":[48194211840,0],"F32":[96386764800,0],"COPY":[48194211840,0]}}]}/* RECIPE END */;

const kCtxPad = 256;
const kMaxCtx = 2 ** 24;
const kVocabHeaderBytesPerToken = 40;  // token text, score, type and merges, on average
export const kSmallModelParams = 13e9;
// The core's recommendation ladder (recommend_ftype, core/estimate/estimate_report.cpp), best
// first, and its default without a memory budget. Copies, because the widget runs without
// WebAssembly; tests/js/core_constants.test.mjs compares them with the core's (gs_constants_json).
export const kDefaultFtype = 'Q4_K_M';
export const kLadder = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'IQ4_XS', 'Q3_K_L', 'Q3_K_M', 'IQ3_M',
                 'IQ3_XXS', 'Q2_K', 'IQ2_M', 'IQ2_XS', 'IQ2_XXS', 'IQ1_M', 'IQ1_S'];
// Bytes per cache element relative to f16 (block bytes / block size / 2); checked against the
// core's type table by tests/js/core_constants.test.mjs.
export const kKvFactor = { f16: 1, q8_0: 34 / 32 / 2, q4_0: 18 / 32 / 2 };

// "8.03B", "70b", "500M", "1.5T", "7e9" or a number -> parameters.
export function parseParams(value) {
    if (typeof value === 'number') return value > 0 && Number.isFinite(value) ? value : NaN;
    const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmbt]?)\s*$/i.exec(String(value ?? ''));
    if (!m) return NaN;
    const scale = { '': 1, k: 1e3, m: 1e6, b: 1e9, t: 1e12 }[m[2].toLowerCase()];
    const n = Math.round(Number(m[1]) * scale);
    return n > 0 && Number.isFinite(n) ? n : NaN;
}

// The anchor values for `params`, interpolated in log(params).
function interpolate(params, anchors = RECIPE.anchors) {
    const at = (a) => ({
        bytesPerParam: Object.fromEntries(Object.entries(a.ftypes).map(([k, v]) => [k, v[0] / a.params])),
        imatrix: Object.fromEntries(Object.entries(a.ftypes).map(([k, v]) => [k, v[1] === 1])),
        kv: a.kv_bytes_per_token / a.params, compute: a.compute_bytes, vocab: a.n_vocab,
    });
    if (params <= anchors[0].params) return { ...at(anchors[0]), scale: params };
    const last = anchors[anchors.length - 1];
    if (params >= last.params) return { ...at(last), scale: params };
    let i = 0;
    while (anchors[i + 1].params < params) ++i;
    const a = at(anchors[i]), b = at(anchors[i + 1]);
    const t = (Math.log(params) - Math.log(anchors[i].params)) /
              (Math.log(anchors[i + 1].params) - Math.log(anchors[i].params));
    const lerp = (x, y) => x + (y - x) * t;
    const bytesPerParam = {};
    for (const k of Object.keys(a.bytesPerParam)) bytesPerParam[k] = lerp(a.bytesPerParam[k], b.bytesPerParam[k]);
    return { bytesPerParam, imatrix: t < 0.5 ? a.imatrix : b.imatrix, kv: lerp(a.kv, b.kv),
             compute: lerp(a.compute, b.compute), vocab: lerp(a.vocab, b.vocab), scale: params };
}

function recommend(rows, params, memoryBytes, imatrixGiven) {
    const small = params < kSmallModelParams;
    if (memoryBytes == null) {
        const advice = ['with memory to spare, Q5_K_M or Q6_K are a step up'];
        if (small) advice.push('below 13B parameters, Q8_0 is near-lossless and affordable');
        advice.push('Q2_K/Q3_K only when nothing larger fits');
        return { name: kDefaultFtype, reason: "llama.cpp's recommended default balance of size and quality", advice };
    }
    let skipped = false;
    for (const name of kLadder) {
        if (name === 'Q8_0' && !small) continue;
        const r = rows.find((x) => x.name === name);
        if (!r || !r.fits) continue;
        if (r.requires_imatrix && !imatrixGiven) { skipped = true; continue; }
        const advice = [];
        let reason;
        if (['Q8_0', 'Q6_K', 'Q5_K_M'].includes(name)) reason = 'memory allows going up from the Q4_K_M default';
        else if (name === 'Q4_K_M') reason = 'the recommended default fits';
        else {
            reason = 'only a type below Q4_K_M fits';
            advice.push('if quality is critical, prefer a smaller model at Q4_K_M or higher over this one at 2-3 bits');
        }
        if (skipped) advice.push('an imatrix would allow a better very-low-bit type to fit');
        return { name, reason, advice };
    }
    return { name: null, advice: skipped ? ['a very-low-bit type would fit with an imatrix'] : [],
             reason: 'no type fits with this context: shorten the context, quantize the KV cache, or use a smaller model' };
}

// The estimate in the shape of `gguf-squash estimate --json`, with mode 'params'. Fields that
// need a header (tensor_types, fallback_tensors, layers...) are null.
//   options: {ctx = 4096, kvType = 'f16', flashAttn = true, ubatch = 512, parallel = 1, memoryGb,
//             memoryBytes, imatrix (bool), arch}
// Without a header the memory parts are the dense-transformer model: the KV cache per token of
// the anchors, split into `parallel` streams of pad256(ctx / parallel) cells as llama.cpp splits
// it; logits for `parallel` outputs; a compute allowance proportional to the micro-batch
// (n_ubatch * 4 * (n_vocab + n_ff + 2 * n_embd)). The attention scores that flash attention off
// adds depend on the head count, which a parameter count does not give: they are left out (the
// result says so in memory.note). A quantized cache with flash attention off is refused with
// llama.cpp's reason, whatever the architecture.
export function estimateFromParams(paramsValue, options = {}) {
    const params = parseParams(paramsValue);
    if (!Number.isFinite(params)) throw new TypeError(`cannot read a parameter count from '${paramsValue}'`);
    const ctx = Math.max(1, Math.floor(options.ctx ?? 4096));
    const kvType = options.kvType ?? 'f16';
    if (!(kvType in kKvFactor)) throw new TypeError('kvType must be f16, q8_0 or q4_0');
    const fa = options.flashAttn ?? true;
    if (![true, false, 'on', 'off'].includes(fa)) throw new TypeError("flashAttn must be true, false, 'on' or 'off'");
    const flashAttn = fa === true || fa === 'on';
    const count = (v, name, dflt, max) => {
        const n = v ?? dflt;
        if (!Number.isInteger(n) || n < 1 || n > max) throw new TypeError(`${name} must be an integer from 1 to ${max}`);
        return n;
    };
    const ubatch = count(options.ubatch, 'ubatch', 512, 65536);
    const parallel = count(options.parallel, 'parallel', 1, 256);
    const memoryBytes = options.memoryBytes ?? (options.memoryGb != null ? Math.round(Number(options.memoryGb) * 2 ** 30) : null);
    const refusal = !flashAttn && kvType !== 'f16' ? 'quantized V cache requires flash_attn to be enabled' : null;
    const ip = interpolate(params);
    const kvPerToken = refusal ? 0 : ip.kv * params * kKvFactor[kvType];
    const cellsOf = (n) => {
        const padded = Math.ceil(Math.max(1, n) / kCtxPad) * kCtxPad;
        return Math.max(kCtxPad, Math.ceil(padded / parallel / kCtxPad) * kCtxPad) * parallel;
    };
    const kvBytes = Math.round(kvPerToken * cellsOf(ctx));
    // The recipe's compute_bytes is one token's logits plus the allowance at n_ubatch 512.
    const logits = ip.vocab * 4;
    const outputBytes = refusal ? 0 : Math.round(logits * parallel);
    const computeBytes = refusal ? 0 : Math.round((ip.compute - logits) * ubatch / 512);
    const other = outputBytes + computeBytes;
    const headerBytes = Math.round(ip.vocab * kVocabHeaderBytesPerToken);
    const memoryOf = (weights) => {
        if (refusal) return { total: null, maxCtx: null };
        const total = weights + kvBytes + other;
        let maxCtx = null;
        if (memoryBytes != null) {
            const room = memoryBytes - weights - other;
            maxCtx = room <= 0 || kvPerToken <= 0 ? 0
                : Math.min(kMaxCtx, Math.floor(room / kvPerToken / kCtxPad) * kCtxPad);
        }
        return { total, maxCtx };
    };
    const ftypes = RECIPE.ftypes.map(([name, ftype, note]) => {
        const weights = Math.round(ip.bytesPerParam[name] * params);
        const mem = memoryOf(weights);
        return {
            name, ftype, file_size: weights + headerBytes, bpw: Math.round(weights * 8 / params * 1e4) / 1e4,
            requires_imatrix: ip.imatrix[name] && !options.imatrix, fallback_tensors: null,
            tensor_types: null, note, memory_bytes: mem.total, max_ctx: mem.maxCtx,
            fits: memoryBytes == null || refusal ? null : mem.total <= memoryBytes,
        };
    });
    // requires_imatrix means "cannot be made without one", whatever was given.
    for (const r of ftypes) r.requires_imatrix = ip.imatrix[r.name];
    const recommendation = recommend(ftypes, params, memoryBytes, !!options.imatrix);
    const memName = recommendation.name ?? kDefaultFtype;
    const memRow = ftypes.find((r) => r.name === memName);
    const weights = memRow.file_size - headerBytes;
    return {
        mode: 'params',
        model: { arch: options.arch ?? null, name: null, params: Math.round(params), layers: null,
                 context_length: null, vocab_size: Math.round(ip.vocab) },
        ftypes,
        memory: { ctx, kv_type: kvType, flash_attn: flashAttn, ubatch, parallel,
                  ...(refusal ? { error: refusal } : {}),
                  weights_bytes: weights, kv_bytes: kvBytes, recurrent_bytes: 0, output_bytes: outputBytes,
                  compute_bytes: computeBytes, other_bytes: other,
                  total_bytes: refusal ? 0 : weights + kvBytes + other, max_ctx: memRow.max_ctx, ftype: memName,
                  budget_bytes: memoryBytes,
                  ...(flashAttn || refusal ? {} : { note: 'the attention scores flash attention off adds are not in this estimate (they need the head count)' }) },
        recommendation,
    };
}

// For tests and docs: the recipe table (anchors and holdout shapes with exact plan sizes).
export function paramsRecipe() {
    return RECIPE;
}
