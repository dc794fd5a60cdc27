// Write path: takes used->idx write requests and element-burst descriptors, drives the AXI4
// AW and W channels, keeps the in-order record of outstanding writes and hands each B response
// back to its queue.
//
// All writes use one AXI ID, so B responses arrive in issue order and a single FIFO tracks them.
// A used->idx write (one beat, 2 bytes) has priority over element bursts; it is only requested
// for elements whose B responses have all been OKAY, so ordering holds by construction. W data of
// a burst is sent from the cycle after the burst is taken, together with its AW (the master does
// not wait for AWREADY before WVALID, as AXI requires). Element words come from the element FIFO
// through a read window: beat k of a burst at byte address A carries the words whose addresses
// fall into that beat; a word pointer remembers whether the next element starts at its id or its
// len word (an element split at a 4 KiB boundary). Descriptors of a queue that is in error or
// being reset are discarded: their words are removed from the element FIFO, nothing is written.

`default_nettype none

module vmsg_eng_wr #(
  parameter int unsigned NUM_Q          = 4,    // queues, 1..64
  parameter int unsigned AW             = 32,   // AXI address width
  parameter int unsigned DW             = 64,   // AXI data width, 32..1024
  parameter int unsigned IDW            = 4,    // AXI ID width
  parameter int unsigned WR_OUTSTANDING = 32,   // write transactions in flight, power of two
  parameter int unsigned ELEM_DEPTH     = 64,   // element FIFO depth (for the count width)
  localparam int unsigned QW    = (NUM_Q > 1) ? $clog2(NUM_Q) : 1,
  localparam int unsigned LANES = DW / 32,                 // 32-bit words per beat
  localparam int unsigned NRD   = (LANES + 2) / 2,         // elements a beat can touch
  localparam int unsigned ECW   = $clog2(ELEM_DEPTH + 1),
  localparam int unsigned ERW   = $clog2(NRD + 1)
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // used->idx write request
  input  wire                      idx_valid_i,
  input  wire  [QW-1:0]            idx_q_i,
  input  wire  [15:0]              idx_val_i,
  input  wire  [AW-1:0]            idx_addr_i,
  output logic                     idx_take_o,
  // element-burst descriptor
  input  wire                      d_valid_i,
  input  wire  [QW-1:0]            d_q_i,
  input  wire  [AW-1:0]            d_addr_i,
  input  wire  [10:0]              d_words_i,
  input  wire  [8:0]               d_beats_i,
  input  wire  [15:0]              d_end_i,
  input  wire                      d_adv_i,
  output logic                     d_take_o,
  input  wire  [NUM_Q-1:0]         q_flush_i,
  // element FIFO window
  input  wire  [NRD-1:0][63:0]     ew_data_i,
  input  wire  [ECW-1:0]           ew_count_i,
  output logic [ERW-1:0]           ew_pop_o,
  // events to the queues
  output logic                     ld_o,         // element descriptor taken (issued or discarded)
  output logic [QW-1:0]            ld_q_o,
  output logic [15:0]              ld_end_o,
  output logic                     ld_adv_o,
  output logic                     issue_o,      // write transaction issued
  output logic [QW-1:0]            issue_q_o,
  output logic                     b_o,          // B response
  output logic [QW-1:0]            b_q_o,
  output logic                     b_idx_o,
  output logic                     b_ok_o,
  output logic [15:0]              b_val_o,
  output logic                     b_adv_o,
  output logic [AW-1:0]            b_addr_o,
  // AXI4 write channels
  output logic [IDW-1:0]           m_axi_awid,
  output logic [AW-1:0]            m_axi_awaddr,
  output logic [7:0]               m_axi_awlen,
  output logic [2:0]               m_axi_awsize,
  output logic [1:0]               m_axi_awburst,
  output logic                     m_axi_awlock,
  output logic [3:0]               m_axi_awcache,
  output logic [2:0]               m_axi_awprot,
  output logic                     m_axi_awvalid,
  input  wire                      m_axi_awready,
  output logic [DW-1:0]            m_axi_wdata,
  output logic [DW/8-1:0]          m_axi_wstrb,
  output logic                     m_axi_wlast,
  output logic                     m_axi_wvalid,
  input  wire                      m_axi_wready,
  input  wire  [IDW-1:0]           m_axi_bid,
  input  wire  [1:0]               m_axi_bresp,
  input  wire                      m_axi_bvalid,
  output logic                     m_axi_bready
);

  localparam int unsigned S   = $clog2(DW / 8);
  localparam int unsigned LW  = (LANES > 1) ? $clog2(LANES) : 1;
  localparam int unsigned TW  = 1 + QW + 16 + 1 + AW;   // tracker entry

  // elaboration-time parameter checks
  if (DW < 32 || DW > 1024 || (DW & (DW - 1)) != 0) begin : g_param_err0
    $fatal(1, "vmsg_eng_wr: DW must be 32..1024, a power of two");
  end

  // ---------------------------------------------------------------------------------------
  // current transaction on W
  logic          cur_valid_q, cur_isidx_q, cur_disc_q, cur_first_q, wp_q;
  logic [10:0]   cur_left_q;
  logic [LW-1:0] cur_lane0_q;
  logic [15:0]   cur_val_q;
  logic [S-1:0]  cur_off_q;

  // words of the current beat
  logic [10:0] lane_start, n_words, avail_words;
  logic        have, last, step, finishing, w_hs;
  always_comb begin
    logic [10:0] room;
    lane_start  = cur_first_q ? 11'(cur_lane0_q) : 11'd0;
    room        = 11'(LANES) - lane_start;
    n_words     = (cur_left_q < room) ? cur_left_q : room;
    avail_words = 11'({ew_count_i, 1'b0}) - 11'(wp_q);
  end
  assign have = (avail_words >= n_words);
  assign last = cur_isidx_q || (n_words == cur_left_q);

  // W channel (combinational from registers and the FIFO window)
  always_comb begin
    logic [2*NRD-1:0][31:0] ww;
    for (int unsigned i = 0; i < NRD; i++) begin
      ww[2*i]     = ew_data_i[i][31:0];   // id
      ww[2*i + 1] = ew_data_i[i][63:32];  // len
    end
    m_axi_wdata = '0;
    m_axi_wstrb = '0;
    if (cur_isidx_q) begin
      m_axi_wdata = {(DW / 16){cur_val_q}};
      m_axi_wstrb = (DW / 8)'(2'b11) << cur_off_q;
    end else begin
      for (int unsigned j = 0; j < LANES; j++) begin
        if (11'(j) >= lane_start && 11'(j) < lane_start + n_words) begin
          m_axi_wdata[32*j +: 32] = ww[32'(wp_q) + j - 32'(lane_start)];
          m_axi_wstrb[4*j +: 4]   = 4'hF;
        end
      end
    end
  end
  assign m_axi_wvalid = cur_valid_q && !cur_disc_q && (cur_isidx_q || have);
  assign m_axi_wlast  = last;
  assign w_hs         = m_axi_wvalid && m_axi_wready;
  assign step         = cur_valid_q && (cur_disc_q ? have : w_hs);
  assign finishing    = step && last;

  always_comb begin
    logic [11:0] consumed;
    consumed = 12'(wp_q) + 12'(n_words);
    ew_pop_o = (step && !cur_isidx_q) ? ERW'(consumed >> 1) : '0;
  end

  // ---------------------------------------------------------------------------------------
  // tracker of outstanding writes
  logic [0:0][TW-1:0] trk_head;
  logic               trk_full, trk_empty, trk_push, trk_pop;
  logic [TW-1:0]      trk_in;
  logic [$clog2(WR_OUTSTANDING + 1)-1:0] trk_count;
  vmsg_eng_fifo #(.WIDTH(TW), .DEPTH(WR_OUTSTANDING), .NRD(1)) u_trk (
    .clk_i, .rst_ni,
    .push_i  (trk_push),
    .wdata_i (trk_in),
    .pop_i   (trk_pop),
    .rdata_o (trk_head),
    .count_o (trk_count),
    .full_o  (trk_full),
    .empty_o (trk_empty)
  );

  // ---------------------------------------------------------------------------------------
  // taking the next transaction
  logic can_load, aw_free, load_idx, load_desc, d_disc;
  assign can_load  = !cur_valid_q || finishing;
  assign aw_free   = !m_axi_awvalid || m_axi_awready;
  assign d_disc    = q_flush_i[d_q_i];
  assign load_idx  = can_load && idx_valid_i && aw_free && !trk_full;
  assign load_desc = can_load && !load_idx && d_valid_i && (d_disc || (aw_free && !trk_full));

  assign idx_take_o = load_idx;
  assign d_take_o   = load_desc;
  assign ld_o       = load_desc;
  assign ld_q_o     = d_q_i;
  assign ld_end_o   = d_end_i;
  assign ld_adv_o   = d_adv_i;
  assign issue_o    = load_idx || (load_desc && !d_disc);
  assign issue_q_o  = load_idx ? idx_q_i : d_q_i;
  assign trk_push   = issue_o;
  assign trk_in     = load_idx ? {1'b1, idx_q_i, idx_val_i, 1'b0, idx_addr_i}
                               : {1'b0, d_q_i, d_end_i, d_adv_i, d_addr_i};

  logic          awvalid_q;
  logic [AW-1:0] awaddr_q;
  logic [7:0]    awlen_q;
  logic [2:0]    awsize_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cur_valid_q <= 1'b0;
      cur_isidx_q <= 1'b0;
      cur_disc_q  <= 1'b0;
      cur_first_q <= 1'b0;
      cur_left_q  <= '0;
      cur_lane0_q <= '0;
      cur_val_q   <= '0;
      cur_off_q   <= '0;
      wp_q        <= 1'b0;
      awvalid_q   <= 1'b0;
      awaddr_q    <= '0;
      awlen_q     <= '0;
      awsize_q    <= '0;
    end else begin
      if (step && !cur_isidx_q) begin
        wp_q        <= wp_q ^ n_words[0];
        cur_left_q  <= cur_left_q - n_words;
        cur_first_q <= 1'b0;
      end
      if (finishing) cur_valid_q <= 1'b0;
      if (load_idx) begin
        cur_valid_q <= 1'b1;
        cur_isidx_q <= 1'b1;
        cur_disc_q  <= 1'b0;
        cur_val_q   <= idx_val_i;
        cur_off_q   <= idx_addr_i[S-1:0];
      end else if (load_desc) begin
        cur_valid_q <= 1'b1;
        cur_isidx_q <= 1'b0;
        cur_disc_q  <= d_disc;
        cur_first_q <= 1'b1;
        cur_left_q  <= d_words_i;
        cur_lane0_q <= LW'(32'(d_addr_i[S-1:0]) >> 2);
      end

      if (load_idx) begin
        awvalid_q <= 1'b1;
        awaddr_q  <= idx_addr_i;
        awlen_q   <= 8'd0;
        awsize_q  <= 3'd1;
      end else if (load_desc && !d_disc) begin
        awvalid_q <= 1'b1;
        awaddr_q  <= d_addr_i;
        awlen_q   <= 8'(d_beats_i - 9'd1);
        awsize_q  <= 3'(S);
      end else if (m_axi_awready) begin
        awvalid_q <= 1'b0;
      end
    end
  end

  assign m_axi_awid    = '0;
  assign m_axi_awaddr  = awaddr_q;
  assign m_axi_awlen   = awlen_q;
  assign m_axi_awsize  = awsize_q;
  assign m_axi_awburst = 2'b01;     // INCR
  assign m_axi_awlock  = 1'b0;
  assign m_axi_awcache = 4'b0010;   // normal, non-cacheable, non-bufferable: B means visible
  assign m_axi_awprot  = 3'b000;
  assign m_axi_awvalid = awvalid_q;

  // ---------------------------------------------------------------------------------------
  // B responses (in order)
  assign m_axi_bready = 1'b1;
  assign trk_pop      = m_axi_bvalid && !trk_empty;
  assign b_o          = trk_pop;
  assign {b_idx_o, b_q_o, b_val_o, b_adv_o, b_addr_o} = trk_head[0];
  assign b_ok_o       = !m_axi_bresp[1];

  logic unused_wr;
  assign unused_wr = ^{m_axi_bid, m_axi_bresp[0], trk_count};

`ifndef SYNTHESIS
  // assertions start one cycle after reset
  logic sva_en_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sva_en_q <= 1'b0;
    else         sva_en_q <= 1'b1;
  end
  a_aw_stable: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    m_axi_awvalid && !m_axi_awready |=> m_axi_awvalid && $stable(m_axi_awaddr) && $stable(m_axi_awlen) && $stable(m_axi_awsize))
    else $error("vmsg_eng_wr: AW changed while waiting");
  a_w_stable: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    m_axi_wvalid && !m_axi_wready |=> m_axi_wvalid && $stable(m_axi_wdata) && $stable(m_axi_wstrb) && $stable(m_axi_wlast))
    else $error("vmsg_eng_wr: W changed while waiting");
  a_aw_4k: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    m_axi_awvalid |-> ((32'(m_axi_awaddr[11:0]) >> m_axi_awsize) + 32'(m_axi_awlen) + 1) << m_axi_awsize <= 32'd4096)
    else $error("vmsg_eng_wr: burst crosses a 4 KiB boundary");
  a_b_expected: assert property (@(posedge clk_i) disable iff (!sva_en_q) m_axi_bvalid |-> !trk_empty)
    else $error("vmsg_eng_wr: B response without an outstanding write");
`endif

endmodule

`default_nettype wire
