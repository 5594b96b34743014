{{ trade_ranking(['city', 'municipality']) }}
