{{ trade_ranking(['province', 'municipality']) }}
